using System;
using System.Threading;
using System.Threading.Tasks;
using BentoSinks;
using BentoSinks.Delivery;
using BentoSinks.Diagnostics;
using Serilog.Core;
using Serilog.Debugging;
using Serilog.Events;

namespace Serilog.Sinks.Bento
{
    /// <summary>
    /// The Serilog sink: on the caller's thread it only recognises analytics events (the marker property), checks
    /// routing and the email, and queues the <see cref="LogEvent"/> itself; mapping and delivery run on the shared pipeline.
    /// </summary>
    internal sealed class BentoSink : ILogEventSink, IDisposable, IAsyncDisposable, ISetLoggingFailureListener
    {
        private readonly BentoPipeline<LogEvent> _pipeline;
        private readonly LogEventFormatter _formatter;
        private int _stopped;

        public BentoSink(BentoSinkOptions options)
        {
            if (options is null) throw new ArgumentNullException(nameof(options));
            var snapshot = options.Snapshot();
            BentoEnvironment.FillUnset(snapshot); // BENTO_* for what code and configuration leave unset, as the exporter does
            if (string.IsNullOrWhiteSpace(snapshot.AnalyticsEventPropertyName))
                throw new ArgumentException("The analytics event property name must not be blank.", nameof(BentoSinkOptions.AnalyticsEventPropertyName));
            var settings = snapshot.Validate();
            _formatter = new LogEventFormatter(snapshot);
            _pipeline = new BentoPipeline<LogEvent>(settings, _formatter, new HostLogDiagnostics(SelfLogDiagnostics.Instance, SerilogHostLog.Write, "Serilog"), "Serilog");
            FrontEndPresence.SerilogSinkStarted();
        }

        public void Emit(LogEvent logEvent)
        {
            try
            {
                if (logEvent is null || !_formatter.TryGetType(logEvent, out var type)) return;
                if (!_pipeline.AdmitType(type)) return;
                // The email is looked up once (a dictionary lookup and a scan of the value): again only for an identified copy.
                var hasEmail = _formatter.FindEmail(logEvent) != null;
                if (!hasEmail && BentoIdentity.ForLog(System.Diagnostics.Activity.Current) is { } identity && _formatter.WithIdentity(logEvent, identity) is { } identified)
                {
                    logEvent = identified; // the ambient identity (BentoIdentity.Push, UseBentoIdentity), resolved as for log records: an email on the event wins
                    hasEmail = _formatter.FindEmail(logEvent) != null;
                }
                _pipeline.EnqueueIfIdentified(logEvent, hasEmail);
            }
            catch (Exception ex)
            {
                // Never throw into the application; the exception type only, the event may hold personal data.
                SelfLog.WriteLine("Bento: failed to queue an event ({0}).", ex.GetType().Name);
            }
        }

        public void SetFailureListener(ILoggingFailureListener failureListener)
        {
            if (failureListener is null) return;
            _pipeline.ItemsDropped = (reason, items, dropped) =>
                failureListener.OnLoggingFailed(this, LoggingFailureKind.Final,
                    dropped == items.Count
                        ? $"Bento: {items.Count} event(s) were not delivered ({reason.Name()})."
                        : $"Bento: accepted a request of {items.Count} event(s) but counted {dropped} of them as failed, without saying which ({reason.Name()}).",
                    items, null);
        }

        public void Dispose()
        {
            MarkStopped();
            _pipeline.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            MarkStopped();
            return _pipeline.DisposeAsync();
        }

        private void MarkStopped()
        {
            if (Interlocked.Exchange(ref _stopped, 1) == 0) FrontEndPresence.SerilogSinkStopped();
        }
    }
}
