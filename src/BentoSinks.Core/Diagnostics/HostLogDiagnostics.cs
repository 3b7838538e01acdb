using System;

namespace BentoSinks.Diagnostics
{
    /// <summary>
    /// A front end's diagnostics (SelfLog, the EventSource), also written to the host's log where there is one: the
    /// Serilog sink writes to <c>Log.Logger</c>, the OpenTelemetry exporter to the host's <c>ILoggerFactory</c>, both
    /// under the category <see cref="Category"/>. So a wrong key or dropped events show up in the app's own console
    /// without enabling SelfLog or an EventSource listener. What is written is already rate-limited and free of keys,
    /// emails and event bodies (the <see cref="RateLimitedReporter"/> writes here).
    /// </summary>
    /// <remarks>
    /// A diagnostic is not an analytics event, so a host log that feeds back into a Bento pipeline does not loop; a
    /// diagnostic raised while one is being written on the same thread goes to the front end's own channel only.
    /// </remarks>
    internal sealed class HostLogDiagnostics : IBentoDiagnosticEvents
    {
        /// <summary>The host log category (Serilog <c>SourceContext</c>): <c>BentoSinks</c>.</summary>
        public const string Category = "BentoSinks";

        [ThreadStatic]
        private static bool _writing;

        private readonly IBentoDiagnostics _inner;
        private readonly IBentoDiagnosticEvents? _innerEvents;
        private readonly Action<bool, string> _hostLog;

        /// <param name="inner">The front end's own channel (SelfLog, EventSource): always written.</param>
        /// <param name="hostLog">Writes one line to the host's log: <c>(isError, message)</c>; may do nothing when there is no host log.</param>
        public HostLogDiagnostics(IBentoDiagnostics inner, Action<bool, string> hostLog)
        {
            _inner = inner;
            _innerEvents = inner as IBentoDiagnosticEvents;
            _hostLog = hostLog;
        }

        public void Warning(string message)
        {
            _inner.Warning(message);
            ToHost(false, message);
        }

        public void Error(string message)
        {
            _inner.Error(message);
            ToHost(true, message);
        }

        public void EventsDropped(DropReason reason, long count, string message)
        {
            if (_innerEvents != null) _innerEvents.EventsDropped(reason, count, message);
            else _inner.Warning(message);
            ToHost(false, message);
        }

        public void Problem(in BentoProblem problem, string message)
        {
            if (_innerEvents != null) _innerEvents.Problem(problem, message);
            else if (problem.IsError) _inner.Error(message);
            else _inner.Warning(message);
            ToHost(problem.IsError || problem.Kind == BentoProblemKind.Unauthorized, message);
        }

        private void ToHost(bool error, string message)
        {
            if (_writing) return;
            _writing = true;
            try
            {
                _hostLog(error, message);
            }
            catch
            {
                // The host's log must never break delivery; the front end's own channel has the line.
            }
            finally
            {
                _writing = false;
            }
        }
    }
}
