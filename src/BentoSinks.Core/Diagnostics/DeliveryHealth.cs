using System;
using System.Collections.Generic;
using System.Threading;

namespace BentoSinks.Diagnostics
{
    /// <summary>
    /// What one pipeline has learnt about its delivery, beyond its counts: whether Bento refuses its credentials (and
    /// since when), whether an answer showed a wrong setting (a 404, a redirect, a refused TLS certificate), whether Bento
    /// has confirmed a request yet, whether a streak of transient failures is being retried (and since when), and when
    /// events were last dropped, by reason. Written by the delivery loop (and, for drops, the application's
    /// threads) with plain atomic writes; read as a <see cref="BentoPipelineStatus"/> snapshot. While the pipeline is
    /// alive it is listed in the <see cref="PipelineRegistry"/>.
    /// </summary>
    internal sealed class DeliveryHealth
    {
        private const long None = long.MinValue;

        private readonly PipelineCounters _counters;
        private readonly TimeProvider _time;
        private string _name = "";
        private long _unauthorizedSince = None;
        private long _retryingSince = None;
        private long _lastDrop = None;
        private int _lastDropReason = -1;
        private readonly long[] _lastDropByReason = NewTimes();
        private long _wrongSettingSince = None;
        private string? _wrongSetting;
        private int _verified;

        private static long[] NewTimes()
        {
            var times = new long[DropReasons.Count];
            for (var i = 0; i < times.Length; i++) times[i] = None;
            return times;
        }

        public DeliveryHealth(PipelineCounters counters, TimeProvider time)
        {
            _counters = counters;
            _time = time;
        }

        /// <summary>Lists the pipeline, under <paramref name="name"/>, in the process's registry.</summary>
        public void Open(string name)
        {
            _name = name;
            PipelineRegistry.Add(this);
        }

        /// <summary>Takes the pipeline out of the registry (it has been disposed).</summary>
        public void Close() => PipelineRegistry.Remove(this);

        /// <summary>
        /// Events were dropped for <paramref name="reason"/>: noted by reason; the last drop overall leaves out
        /// <c>excluded</c>, a choice rather than a failure.
        /// </summary>
        public void Dropped(DropReason reason)
        {
            var now = _time.GetTimestamp();
            var byReason = Volatile.Read(ref _lastDropByReason[(int)reason]);
            // Floods (a full queue on many threads) read instead of writing: within a second is close enough for minutes.
            if (byReason == None || now - byReason < 0 || now - byReason >= _time.TimestampFrequency) Volatile.Write(ref _lastDropByReason[(int)reason], now);
            if (reason == DropReason.Excluded) return;
            // A flood of drops (a full queue under load, on many threads) reads the shared line instead of writing it:
            // a time noted less than a second ago, for the same reason, is close enough for a window of minutes.
            var last = Volatile.Read(ref _lastDrop);
            if (last != None && Volatile.Read(ref _lastDropReason) == (int)reason && now - last >= 0 && now - last < _time.TimestampFrequency) return;
            Volatile.Write(ref _lastDropReason, (int)reason);
            Volatile.Write(ref _lastDrop, now);
        }

        /// <summary>A transient failure is being retried: the streak starts now unless it already runs.</summary>
        public void Retrying()
        {
            if (Volatile.Read(ref _retryingSince) == None) Interlocked.CompareExchange(ref _retryingSince, _time.GetTimestamp(), None);
        }

        /// <summary>The streak of transient failures ended (a definitive answer, or its retries were given up).</summary>
        public void RetryEnded() => Volatile.Write(ref _retryingSince, None);

        /// <summary>Bento answered 401 or 403.</summary>
        public void Unauthorized()
        {
            RetryEnded();
            if (Volatile.Read(ref _unauthorizedSince) == None) Interlocked.CompareExchange(ref _unauthorizedSince, _time.GetTimestamp(), None);
        }

        /// <summary>Bento accepted a request with its JSON result: the credentials and the endpoint work.</summary>
        public void Succeeded()
        {
            Volatile.Write(ref _unauthorizedSince, None);
            Volatile.Write(ref _wrongSettingSince, None);
            Volatile.Write(ref _verified, 1);
        }

        /// <summary>
        /// An answer (or a refused TLS certificate) showed a setting that will not heal on its own; <paramref name="problem"/>
        /// says which, without a secret, an email or a URL's query. Lasts until Bento accepts a request.
        /// </summary>
        public void WrongSetting(string problem)
        {
            Volatile.Write(ref _wrongSetting, problem);
            if (Volatile.Read(ref _wrongSettingSince) == None) Interlocked.CompareExchange(ref _wrongSettingSince, _time.GetTimestamp(), None);
        }

        /// <summary>The pipeline's state now, on its own clock.</summary>
        public BentoPipelineStatus Snapshot()
        {
            var time = _time;
            var now = time.GetUtcNow();
            var nowTimestamp = time.GetTimestamp();
            var dropped = new Dictionary<string, long>(StringComparer.Ordinal);
            for (var i = 0; i < DropReasons.Count; i++)
            {
                var n = _counters.Dropped((DropReason)i);
                if (n > 0) dropped[((DropReason)i).Name()] = n;
            }
            var dropTimes = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
            for (var i = 0; i < DropReasons.Count; i++)
            {
                if (At(Volatile.Read(ref _lastDropByReason[i])) is { } at) dropTimes[((DropReason)i).Name()] = at;
            }
            var wrongSince = At(Volatile.Read(ref _wrongSettingSince));
            var reason = Volatile.Read(ref _lastDropReason);
            var lastDrop = At(Volatile.Read(ref _lastDrop));
            return new BentoPipelineStatus(
                _name,
                now,
                _counters.Offered,
                _counters.Sent,
                Math.Max(0, _counters.InFlight),
                _counters.Requests,
                _counters.Retries,
                dropped,
                At(Volatile.Read(ref _unauthorizedSince)),
                At(Volatile.Read(ref _retryingSince)),
                lastDrop,
                lastDrop is null || reason < 0 ? null : ((DropReason)reason).Name(),
                dropTimes,
                wrongSince,
                wrongSince is null ? null : Volatile.Read(ref _wrongSetting),
                Volatile.Read(ref _verified) == 1);

            DateTimeOffset? At(long timestamp)
            {
                if (timestamp == None) return null;
                var ago = time.GetElapsedTime(timestamp, nowTimestamp);
                return now - (ago < TimeSpan.Zero ? TimeSpan.Zero : ago);
            }
        }
    }
}
