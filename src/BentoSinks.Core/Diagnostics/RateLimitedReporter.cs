using System;

namespace BentoSinks.Diagnostics
{
    /// <summary>
    /// Rate-limits diagnostics: at most one line per drop reason (and per problem key) per interval, carrying the
    /// count gathered since the last line. What is still pending is written by <see cref="FlushPending"/>.
    /// </summary>
    internal sealed class RateLimitedReporter : IDisposable
    {
        private System.Threading.ITimer? _timer;
        private int _timerArmed;
        private bool _disposed;
        private readonly IBentoDiagnostics _sink;
        private readonly IBentoDiagnosticEvents? _events;
        private readonly TimeProvider _time;
        private readonly TimeSpan _interval;
        private readonly object _gate = new object();
        private readonly long[] _pending = new long[DropReasons.Count];
        private readonly long[] _lastReport = new long[DropReasons.Count];
        private readonly System.Collections.Generic.Dictionary<string, (long last, int suppressed)> _problems =
            new System.Collections.Generic.Dictionary<string, (long, int)>(StringComparer.Ordinal);

        public RateLimitedReporter(IBentoDiagnostics sink, TimeProvider time, TimeSpan interval)
        {
            _sink = sink;
            _events = sink as IBentoDiagnosticEvents;
            _time = time;
            _interval = interval;
            for (var i = 0; i < _lastReport.Length; i++) _lastReport[i] = long.MinValue;
        }

        public void Dropped(DropReason reason, long count)
        {
            if (count <= 0) return;
            var i = (int)reason;
            System.Threading.Interlocked.Add(ref _pending[i], count);
            Report(reason);
        }

        /// <summary>Reports a problem (not a drop) at most once per interval per key.</summary>
        public void Problem(string key, string message, bool error)
        {
            string? line = null;
            lock (_gate)
            {
                var now = _time.GetTimestamp();
                if (!_problems.TryGetValue(key, out var entry) || _time.GetElapsedTime(entry.last, now) >= _interval)
                {
                    line = entry.suppressed > 0 ? $"{message} ({entry.suppressed} similar reports suppressed)" : message;
                    _problems[key] = (now, 0);
                }
                else
                {
                    _problems[key] = (entry.last, entry.suppressed + 1);
                }
            }
            if (line is null) return;
            if (_events is null)
            {
                Write(error, line);
                return;
            }
            try
            {
                _events.Problem(BentoProblem.FromKey(key, error), line);
            }
            catch
            {
                // A diagnostics sink must never break delivery.
            }
        }

        /// <summary>Reports normal operation worth a line (at Information), at most once per interval per key.</summary>
        public void Information(string key, string message)
        {
            lock (_gate)
            {
                var now = _time.GetTimestamp();
                if (_problems.TryGetValue(key, out var entry) && _time.GetElapsedTime(entry.last, now) < _interval) return;
                _problems[key] = (now, 0);
            }
            try
            {
                _sink.Information(message);
            }
            catch
            {
                // A diagnostics sink must never break delivery.
            }
        }

        private void ArmTimer()
        {
            if (System.Threading.Volatile.Read(ref _timerArmed) != 0 || System.Threading.Interlocked.CompareExchange(ref _timerArmed, 1, 0) != 0) return;
            var disposed = false;
            lock (_gate)
            {
                if (_disposed)
                {
                    System.Threading.Volatile.Write(ref _timerArmed, 0);
                    disposed = true;
                }
                else
                {
                    _timer ??= _time.CreateTimer(static state => ((RateLimitedReporter)state!).OnTimer(), this, System.Threading.Timeout.InfiniteTimeSpan, System.Threading.Timeout.InfiniteTimeSpan);
                    _timer.Change(_interval, System.Threading.Timeout.InfiniteTimeSpan);
                }
            }
            // After disposal there is no interval to wait for: what is pending is written now.
            if (disposed) FlushPending();
        }

        private void OnTimer()
        {
            System.Threading.Volatile.Write(ref _timerArmed, 0);
            for (var i = 0; i < DropReasons.Count; i++)
                if (System.Threading.Volatile.Read(ref _pending[i]) > 0) Report((DropReason)i);
        }

        /// <summary>Writes the pending count of <paramref name="reason"/> if its interval has passed; otherwise arms the timer.</summary>
        private void Report(DropReason reason)
        {
            // Lock-free while the interval runs: a full queue under load must not serialize the callers on a lock.
            var i = (int)reason;
            var last = System.Threading.Volatile.Read(ref _lastReport[i]);
            var now = _time.GetTimestamp();
            if (last != long.MinValue && _time.GetElapsedTime(last, now) < _interval)
            {
                ArmTimer();
                return;
            }
            long count = 0;
            var lost = false;
            lock (_gate)
            {
                if (_lastReport[i] == last)
                {
                    var pending = System.Threading.Interlocked.Exchange(ref _pending[i], 0);
                    count = pending;
                    System.Threading.Volatile.Write(ref _lastReport[i], now);
                }
                else
                {
                    lost = true; // another thread wrote the line; what it did not take is written when the interval ends
                }
            }
            if (lost) ArmTimer();
            if (count > 0) WriteDropped(reason, count);
        }

        /// <summary>Stops the timer that writes pending counts.</summary>
        public void Dispose()
        {
            lock (_gate)
            {
                _disposed = true;
                _timer?.Dispose();
                _timer = null;
                // An armed timer that will never fire must not keep later drops from being written.
                System.Threading.Volatile.Write(ref _timerArmed, 0);
            }
        }

        public void FlushPending()
        {
            for (var i = 0; i < DropReasons.Count; i++)
            {
                var count = System.Threading.Interlocked.Exchange(ref _pending[i], 0);
                if (count > 0) WriteDropped((DropReason)i, count);
            }
        }

        private static string Format(DropReason reason, long count)
            => $"Bento: dropped {count} event{(count == 1 ? "" : "s")} ({reason.Name()}): {reason.Explanation()}.";

        private void WriteDropped(DropReason reason, long count)
        {
            var line = Format(reason, count);
            if (_events is null)
            {
                Write(reason == DropReason.Unauthorized, line);
                return;
            }
            try
            {
                _events.EventsDropped(reason, count, line);
            }
            catch
            {
                // A diagnostics sink must never break delivery.
            }
        }

        private void Write(bool error, string line)
        {
            try
            {
                if (error) _sink.Error(line); else _sink.Warning(line);
            }
            catch
            {
                // A diagnostics sink must never break delivery.
            }
        }
    }
}
