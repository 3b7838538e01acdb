using System;
using System.Threading;

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
    /// Lines reach the host log from the thread pool, never from the caller, the delivery loop or disposal: a host
    /// logger that takes a lock (Serilog's ReloadableLogger while it disposes this sink) cannot block delivery, and no
    /// ambient LogContext, scope or activity (an analytics marker, a user's email) rides along. A diagnostic raised
    /// while one is being written goes to the front end's own channel only, so a host log that feeds back into a
    /// Bento pipeline does not loop; at most 64 lines wait at a time.
    /// </remarks>
    internal sealed class HostLogDiagnostics : IBentoDiagnosticEvents
    {
        /// <summary>The host log category (Serilog <c>SourceContext</c>): <c>BentoSinks</c>.</summary>
        public const string Category = "BentoSinks";

        /// <summary>Lines handed to the pool and not yet written: past this many (a host log that blocks), lines are skipped.</summary>
        private const int MaxPending = 64;

        [ThreadStatic]
        private static bool _writing;

        private int _pending;
        private readonly string _prefix;

        private readonly IBentoDiagnostics _inner;
        private readonly IBentoDiagnosticEvents? _innerEvents;
        private readonly Action<DiagnosticLevel, string> _hostLog;

        /// <param name="inner">The front end's own channel (SelfLog, EventSource): always written.</param>
        /// <param name="hostLog">Writes one line to the host's log: <c>(level, message)</c>; may do nothing when there is no host log.</param>
        /// <param name="source">The front end, named in each host line (<c>Bento (Serilog): …</c>), so an app with several pipelines sees which one speaks.</param>
        public HostLogDiagnostics(IBentoDiagnostics inner, Action<DiagnosticLevel, string> hostLog, string source)
        {
            _prefix = "Bento (" + source + "): ";
            _inner = inner;
            _innerEvents = inner as IBentoDiagnosticEvents;
            _hostLog = hostLog;
        }

        public void Information(string message)
        {
            _inner.Information(message);
            ToHost(DiagnosticLevel.Information, message);
        }

        public void Warning(string message)
        {
            _inner.Warning(message);
            ToHost(DiagnosticLevel.Warning, message);
        }

        public void Error(string message)
        {
            _inner.Error(message);
            ToHost(DiagnosticLevel.Error, message);
        }

        public void EventsDropped(DropReason reason, long count, string message)
        {
            if (_innerEvents != null) _innerEvents.EventsDropped(reason, count, message);
            else _inner.Warning(message);
            ToHost(DiagnosticLevel.Warning, message);
        }

        public void Problem(in BentoProblem problem, string message)
        {
            if (_innerEvents != null) _innerEvents.Problem(problem, message);
            else if (problem.IsError) _inner.Error(message);
            else _inner.Warning(message);
            ToHost(problem.IsError || problem.Kind == BentoProblemKind.Unauthorized ? DiagnosticLevel.Error : DiagnosticLevel.Warning, message);
        }

        private void ToHost(DiagnosticLevel level, string message)
        {
            // Never on the calling thread: the host's logger may hold a lock while it disposes this very pipeline
            // (Serilog's ReloadableLogger does), and the caller may be inside a log call, a LogContext or a scope that
            // carries an analytics marker or an email. A pool thread with no ExecutionContext has none of that.
            if (_writing) return;
            if (Interlocked.Increment(ref _pending) > MaxPending)
            {
                Interlocked.Decrement(ref _pending);
                return; // the front end's own channel has the line
            }
            ThreadPool.UnsafeQueueUserWorkItem(static state =>
            {
                var (self, level, line) = ((HostLogDiagnostics, DiagnosticLevel, string))state!;
                self.Write(level, line);
            }, (this, level, message.StartsWith("Bento: ", StringComparison.Ordinal) ? _prefix + message.Substring(7) : _prefix + message));
        }

        /// <summary>
        /// Waits, at most <paramref name="limit"/>, for the lines handed to the pool to be written: a pipeline's last
        /// report (what was dropped at shutdown) must not be lost to the process exiting right after disposal.
        /// </summary>
        public void Drain(TimeSpan limit) => SpinWait.SpinUntil(() => Volatile.Read(ref _pending) == 0, limit);

        private void Write(DiagnosticLevel level, string message)
        {
            _writing = true;
            try
            {
                _hostLog(level, message);
            }
            catch
            {
                // The host's log must never break delivery; the front end's own channel has the line.
            }
            finally
            {
                _writing = false;
                Interlocked.Decrement(ref _pending);
            }
        }
    }
}
