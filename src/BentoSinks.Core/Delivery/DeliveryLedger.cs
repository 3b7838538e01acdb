using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using BentoSinks.Diagnostics;

namespace BentoSinks.Delivery
{
    /// <summary>
    /// The one place where an event's fate is recorded: the counters, the metrics, the rate-limited diagnostics and the
    /// failure listeners are updated together, so that no path can count a drop without reporting it (or the reverse).
    /// Drops found on the reader loop reach the listener on the loop; drops on the application's thread (queue full,
    /// no email, shutdown) are counted there but handed to the listener on the thread pool, so that a slow fallback sink
    /// never runs on the caller's thread.
    /// </summary>
    internal sealed class DeliveryLedger<T>
    {
        /// <summary>The most caller-side drops waiting for the listener; past it they are counted and reported only.</summary>
        internal const int MaxPendingNotifications = 10_000;

        private readonly PipelineCounters _counters;
        private readonly BentoMetrics _metrics;
        private readonly RateLimitedReporter _reporter;
        private readonly ConcurrentQueue<(DropReason Reason, T Item)> _pending = new ConcurrentQueue<(DropReason, T)>();
        private int _pendingCount;
        private int _draining;

        public DeliveryLedger(PipelineCounters counters, BentoMetrics metrics, RateLimitedReporter reporter)
        {
            _counters = counters;
            _metrics = metrics;
            _reporter = reporter;
        }

        /// <summary>
        /// Told about events dropped after they were offered, with the events: <c>(reason, events, dropped)</c>, where
        /// <c>dropped</c> equals the number of events except when Bento counted some events of a request as failed
        /// without saying which (then the request's events are passed). Excluded events are not reported. Exceptions are
        /// swallowed.
        /// </summary>
        public Action<DropReason, IReadOnlyList<T>, int>? Listener { get; set; }

        public void Offered() => _counters.AddOffered();

        /// <summary>Events that enter from the buffer directory (left by an earlier process).</summary>
        public void Offered(long count) => _counters.AddOffered(count);

        public void Sent(long count)
        {
            if (count <= 0) return;
            _counters.AddSent(count);
            _metrics.Sent(count);
        }

        /// <summary>Counts (and reports) <paramref name="count"/> drops without telling the listener.</summary>
        public void Count(DropReason reason, long count)
        {
            if (count <= 0) return;
            _counters.AddDropped(reason, count);
            _metrics.Dropped(reason, count);
            if (reason != DropReason.Excluded) _reporter.Dropped(reason, count);
        }

        /// <summary>On the reader loop: counts, reports and tells the listener now.</summary>
        public void Dropped(DropReason reason, T item)
        {
            Count(reason, 1);
            if (Listener != null) Notify(reason, new[] { item }, 1);
        }

        /// <summary>On the reader loop: counts, reports and tells the listener now.</summary>
        public void Dropped(DropReason reason, IReadOnlyList<T> items)
        {
            Count(reason, items.Count);
            Notify(reason, items, items.Count);
        }

        /// <summary>Bento accepted a request but counted <paramref name="failed"/> of its <paramref name="items"/> as failed.</summary>
        public void Failed(int failed, IReadOnlyList<T> items)
        {
            Count(DropReason.Rejected, failed);
            Notify(DropReason.Rejected, items, failed);
        }

        /// <summary>On the application's thread: counts and reports now; the listener hears of it on the thread pool.</summary>
        public void DroppedByCaller(DropReason reason, T item)
        {
            Count(reason, 1);
            if (reason == DropReason.Excluded || Listener is null) return;
            if (Interlocked.Increment(ref _pendingCount) > MaxPendingNotifications)
            {
                Interlocked.Decrement(ref _pendingCount);
                _reporter.Problem("listener-backlog", "Bento: the failure listener is behind; some dropped events were counted and reported but not passed to it.", error: false);
                return;
            }
            _pending.Enqueue((reason, item));
            if (Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
                ThreadPool.UnsafeQueueUserWorkItem(static state => ((DeliveryLedger<T>)state!).DrainNotifications(), this);
        }

        /// <summary>Passes every caller-side drop still waiting to the listener, on this thread (disposal calls it last).</summary>
        public void DrainNow()
        {
            // Not from the listener itself (it may dispose the pipeline), and never for long behind a slow one.
            if (t_draining) return;
            var waited = System.Diagnostics.Stopwatch.StartNew();
            var spin = new SpinWait();
            while (Interlocked.CompareExchange(ref _draining, 1, 0) != 0)
            {
                if (waited.Elapsed > TimeSpan.FromSeconds(2)) return; // the pool's drain is under way and will finish it
                spin.SpinOnce();
            }
            DrainNotifications();
        }

        [ThreadStatic] private static bool t_draining;

        /// <summary>Passes the caller-side drops waiting for the listener; the caller holds the draining flag.</summary>
        private void DrainNotifications()
        {
            while (true)
            {
                var batch = new List<T>();
                var reason = default(DropReason);
                while (batch.Count < 1000 && _pending.TryPeek(out var next) && (batch.Count == 0 || next.Reason == reason) && _pending.TryDequeue(out next))
                {
                    Interlocked.Decrement(ref _pendingCount);
                    reason = next.Reason;
                    batch.Add(next.Item);
                }
                if (batch.Count > 0)
                {
                    Notify(reason, batch, batch.Count);
                    continue;
                }
                Volatile.Write(ref _draining, 0);
                // A drop enqueued after the last TryPeek but before the flag was cleared is drained here.
                if (_pending.IsEmpty || Interlocked.CompareExchange(ref _draining, 1, 0) != 0) return;
            }
        }

        private void Notify(DropReason reason, IReadOnlyList<T> items, int dropped)
        {
            var listener = Listener;
            if (listener is null || items.Count == 0 || dropped <= 0) return;
            var outer = t_draining;
            t_draining = true;
            try { listener(reason, items, dropped); }
            catch { /* a failure listener must not break delivery */ }
            finally { t_draining = outer; }
        }
    }
}
