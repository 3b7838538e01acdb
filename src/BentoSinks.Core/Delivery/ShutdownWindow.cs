using System;
using System.Collections.Generic;
using System.Threading;

namespace BentoSinks.Delivery
{
    /// <summary>
    /// One shutdown deadline for the pipelines of a process that stop together (a wave). A host disposes its Serilog
    /// logger, tracer provider and logger provider one after another; with Bento down each would wait its whole
    /// <c>ShutdownTimeout</c>, and three pipelines would hold the process three times as long, past an orchestrator's
    /// grace period. Here the first pipeline to stop opens a wave with its timeout; a pipeline of the same account (and
    /// clock) that starts stopping while the wave is in use, or within <see cref="Chain"/> of the last one ending, must
    /// end by the same deadline, but only if it was built before the wave began.
    /// </summary>
    /// <remarks>
    /// A later pipeline loses no time when the earlier ones delivered quickly: it gets what is left of the wave. Only
    /// when the earlier ones spent the whole wave (Bento unreachable) does a later one stop at once, counting what it
    /// still holds as <c>shutdown</c>. A pipeline built after the wave began (a per-job or per-tenant logger, one host
    /// per test) is no part of it: it starts a wave of its own with its whole timeout, so one timed-out shutdown cannot
    /// poison the account for the rest of the process. Pipelines of different accounts or clocks (tests with fake
    /// clocks) keep separate waves.
    /// </remarks>
    internal sealed class ShutdownWindow
    {
        /// <summary>How soon after the last pipeline of a wave stopped another one still belongs to the same wave.</summary>
        internal static readonly TimeSpan Chain = TimeSpan.FromSeconds(1);

        private static readonly Dictionary<string, ShutdownWindow> Windows = new Dictionary<string, ShutdownWindow>(StringComparer.Ordinal);
        private static long _built;

        private readonly TimeProvider _time;
        private long _deadline;
        private long _lastEnded;
        private int _active;
        private bool _timedOut;
        private long _builtBefore; // pipelines numbered up to this one existed when the wave began

        private ShutdownWindow(TimeProvider time) => _time = time;

        /// <summary>Numbers a pipeline as it is built: a wave takes in only pipelines built before it began.</summary>
        public static long NextPipelineNumber() => Interlocked.Increment(ref _built);

        /// <summary>
        /// A pipeline of <paramref name="account"/> starts stopping with <paramref name="timeout"/>: returns how long it
        /// may take (never more than <paramref name="timeout"/>). Call <see cref="Leave"/> on the returned wave once it
        /// has stopped. <paramref name="pipelineNumber"/> is from <see cref="NextPipelineNumber"/> (0: built before any wave).
        /// </summary>
        public static TimeSpan Enter(string account, TimeProvider time, TimeSpan timeout, out ShutdownWindow window, long pipelineNumber = 0)
        {
            lock (Windows)
            {
                if (Windows.Count > 64) Prune();
                var key = account;
                if (!Windows.TryGetValue(key, out var w) || w._time != time)
                {
                    w = new ShutdownWindow(time);
                    // Another clock on the same account (a test's fake one) gets its own window, not shared.
                    if (!Windows.ContainsKey(key)) Windows[key] = w;
                }
                var now = time.GetTimestamp();
                // A pipeline joins the wave of the account's other pipelines when one of them ran out of time less than
                // Chain ago (Bento down: it would too), or while others are stopping at the same time and their deadline
                // is ahead; and only when it existed as the wave began. Pipelines that stop one after another, each in
                // time, each get their own timeout.
                var recent = w._active > 0 || (w._lastEnded != 0 && time.GetElapsedTime(w._lastEnded, now) <= Chain);
                var inWave = recent && (w._timedOut || (w._active > 0 && now < w._deadline)) && pipelineNumber <= w._builtBefore;
                if (!inWave)
                {
                    if (w._active > 0)
                    {
                        // The account's current wave goes on for its members; this pipeline starts a wave of its own.
                        var own = new ShutdownWindow(time);
                        if (Windows.TryGetValue(key, out var current) && current == w) Windows[key] = own;
                        w = own;
                    }
                    var ticks = ToTicks(time, timeout);
                    w._deadline = ticks > long.MaxValue - now ? long.MaxValue : now + ticks;
                    w._timedOut = false;
                    w._lastEnded = 0;
                    w._builtBefore = Interlocked.Read(ref _built);
                    w._active++;
                    window = w;
                    return timeout;
                }
                w._active++;
                window = w;
                var left = w._deadline - now;
                if (left <= 0) return TimeSpan.Zero;
                var remaining = TimeSpan.FromSeconds(left / (double)time.TimestampFrequency);
                return remaining < timeout ? remaining : timeout;
            }
        }

        /// <summary>A pipeline that entered this wave has stopped; <paramref name="timedOut"/>: it ran out of time (a hard stop).</summary>
        public void Leave(bool timedOut)
        {
            lock (Windows)
            {
                _active--;
                if (timedOut) _timedOut = true;
                _lastEnded = _time.GetTimestamp();
                if (_lastEnded == 0) _lastEnded = 1;
            }
        }

        /// <summary>Forgets windows whose wave is over (many accounts or clocks come and go in a test run).</summary>
        private static void Prune()
        {
            var over = new List<string>();
            foreach (var pair in Windows)
            {
                var w = pair.Value;
                if (w._active == 0 && (w._lastEnded == 0 || w._time.GetElapsedTime(w._lastEnded) > Chain)) over.Add(pair.Key);
            }
            foreach (var key in over) Windows.Remove(key);
        }

        private static long ToTicks(TimeProvider time, TimeSpan span)
        {
            var ticks = span.TotalSeconds * time.TimestampFrequency;
            return ticks >= long.MaxValue / 2 ? long.MaxValue / 2 : (long)ticks;
        }
    }
}
