using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace BentoSinks.Delivery
{
    /// <summary>
    /// How the loop waits: for a batch to fill (the period, or enough events), for the budget and a 429's block, for a
    /// retry's backoff, or idle for the next event; a wake (a flush, disposal) cuts a wakeable wait short, the stop ends
    /// any. Every wait also reads for a source that spools (<see cref="IEventSource{T}.ReadsWhileWaiting"/>) and lets it
    /// take in what arrived when the wait ends, so what a wait is for never decides whether events reach the disk.
    /// </summary>
    internal sealed class WaitPolicy<T>
    {
        private readonly TimeProvider _time;
        private readonly EventQueue<T> _queue;
        private readonly IEventSource<T> _source;
        private readonly Func<bool> _urgent;
        private readonly Task _stopped;
        private TaskCompletionSource<bool> _wake = NewSignal();
        private Task? _delayTask;
        private long _delayTarget;
        private CancellationTokenSource? _delayCts;

        // What the loop is waiting on, for tests that drive a fake clock (see IsParked).
        private Task? _parkedOn;
        private bool _parkedReading;
        private bool _parkedWakeable;
        private long _parks;

        // Disposal: the pipeline clock's timestamp by which it must end (long.MaxValue: not disposing).
        private long _deadline = long.MaxValue;
        private readonly Func<TimeSpan, int> _allowance;
        private readonly Action<TimeSpan, TimeSpan> _giveUp;

        /// <summary>
        /// The waits of one loop. <paramref name="allowance"/> says how many requests the budget still allows within a time
        /// (<see cref="RequestBudget.ShutdownAllowance"/>); <paramref name="giveUp"/> stops the loop hard at disposal, told
        /// the wait and the time left (see <see cref="StopIfPastDeadline"/>).
        /// </summary>
        public WaitPolicy(TimeProvider time, EventQueue<T> queue, IEventSource<T> source, Func<bool> urgent, Task stopped, Func<TimeSpan, int> allowance, Action<TimeSpan, TimeSpan> giveUp)
        {
            _time = time;
            _queue = queue;
            _source = source;
            _urgent = urgent;
            _stopped = stopped;
            _allowance = allowance;
            _giveUp = giveUp;
        }

        /// <summary>Disposal must end within <paramref name="timeout"/> from now (the earliest deadline is kept).</summary>
        public void SetDeadline(TimeSpan timeout)
        {
            var now = _time.GetTimestamp();
            var ticks = timeout.TotalSeconds * _time.TimestampFrequency;
            var deadline = ticks >= long.MaxValue - now ? long.MaxValue - 1 : now + (long)ticks;
            while (true)
            {
                var current = Interlocked.Read(ref _deadline);
                if (deadline >= current || Interlocked.CompareExchange(ref _deadline, deadline, current) == current) return;
            }
        }

        /// <summary>
        /// The one place that decides the early stop at disposal. Before a wait for the next request (the budget's, a 429's
        /// block, a retry's backoff, a durable batch held after a refusal): when the wait, or the budget's block, ends after
        /// the shutdown deadline, nothing more can be sent in time, so the loop stops now instead of waiting out the
        /// deadline (a hard stop: what is left is counted <c>shutdown</c>, or in durable mode stays on disk as
        /// <c>deferred</c>). Throws <see cref="OperationCanceledException"/> then; returns when the wait fits (or no disposal).
        /// </summary>
        public void StopIfPastDeadline(TimeSpan wait, CancellationToken stop)
        {
            var left = TimeLeft;
            if (left == TimeSpan.MaxValue) return;
            if (wait <= left && _allowance(left) > 0) return;
            _giveUp(wait, left);
            stop.ThrowIfCancellationRequested();
        }

        /// <summary>At disposal (a flush or disposal waiting, with a deadline), the time left until it; otherwise <see cref="TimeSpan.MaxValue"/>.</summary>
        public TimeSpan TimeLeft
        {
            get
            {
                var deadline = Interlocked.Read(ref _deadline);
                if (deadline == long.MaxValue || !_urgent()) return TimeSpan.MaxValue;
                return TimeSpan.FromSeconds((deadline - _time.GetTimestamp()) / (double)_time.TimestampFrequency);
            }
        }

        private static TaskCompletionSource<bool> NewSignal() => new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Brings the loop back (a flush, disposal, a full batch's worth of events, a retry of the directory).</summary>
        public void Wake() => Volatile.Read(ref _wake).TrySetResult(true);

        /// <summary>At the start of a turn: takes a raised wake before the state is looked at, so a later one is not lost.</summary>
        public void TakeWake()
        {
            if (Volatile.Read(ref _wake).Task.IsCompleted) Volatile.Write(ref _wake, NewSignal());
        }

        /// <summary>Tests: whether the loop waits on something that has not happened yet (nothing to do at the current time).</summary>
        public bool IsParked(out long parks)
        {
            parks = Volatile.Read(ref _parks);
            var on = Volatile.Read(ref _parkedOn);
            if (on is null || on.IsCompleted) return false;
            if (Volatile.Read(ref _parkedReading) && _queue.HasEntries) return false;
            if (Volatile.Read(ref _parkedWakeable) && Volatile.Read(ref _wake).Task.IsCompleted) return false;
            return Volatile.Read(ref _parks) == parks;
        }

        /// <summary>
        /// Waits while a batch that is not full fills: until <paramref name="delay"/>, a wake, or enough events queued to
        /// fill the batch or half the queue. The loop does not wake for every event: on a busy app that would cost a
        /// thread-pool hop and a core per event, and requests would not get any fuller.
        /// </summary>
        public async Task ParkFillingAsync(TimeSpan delay, BatchAssembler<T> batch, CancellationToken stop)
        {
            if (_source.ReadsWhileWaiting)
            {
                await ParkAsync(delay, read: true, wakeable: true, stop).ConfigureAwait(false);
                return;
            }
            try
            {
                // A writer that looked at the threshold before it was set did not wake the loop: look at the queue now.
                // If the count is reached but the queue is still empty, a writer is between counting and writing: wait
                // for its event to arrive rather than spin.
                if (_queue.WakeAt(batch.FillThreshold(), out var reached)) return;
                await ParkAsync(delay, read: reached, wakeable: true, stop).ConfigureAwait(false);
            }
            finally
            {
                _queue.ClearWakeAt();
            }
        }

        /// <summary>
        /// A pause inside delivery (a retry's backoff, the budget between split requests, a durable batch held) for
        /// <paramref name="delay"/> on the pipeline's clock; a wakeable one ends early once a flush or disposal is waiting.
        /// At disposal it stops the loop instead when the next request could only go after the deadline (<see cref="StopIfPastDeadline"/>).
        /// </summary>
        public async Task PauseAsync(TimeSpan delay, bool wakeable, CancellationToken stop)
        {
            StopIfPastDeadline(delay, stop);
            var started = _time.GetTimestamp();
            while (true)
            {
                var left = delay - _time.GetElapsedTime(started);
                if (left <= TimeSpan.Zero) return;
                await ParkAsync(left, read: false, wakeable, stop).ConfigureAwait(false);
                if (wakeable && _urgent()) return;
            }
        }

        /// <summary>
        /// Waits until the stop, and (as asked) the delay, an event to read, or a wake. Throws
        /// <see cref="OperationCanceledException"/> on the stop. A spooling source reads in every wait and takes in
        /// what arrived when it ends.
        /// </summary>
        public async Task ParkAsync(TimeSpan? delay, bool read, bool wakeable, CancellationToken stop)
        {
            stop.ThrowIfCancellationRequested();
            var waits = new List<Task>(5) { _stopped };
            // Once the queue is completed and drained, "wait to read" returns at once: waiting on it would spin.
            read = (read || _source.ReadsWhileWaiting) && !_queue.Drained;
            if (read) waits.Add(_queue.ReadWait(stop));
            if (wakeable)
            {
                var wake = Volatile.Read(ref _wake);
                if (wake.Task.IsCompleted)
                {
                    // A wake already raised is taken now: the caller looks at the state again (it changed before the
                    // wake was raised), and the next wait needs a fresh signal, or it would return at once forever.
                    Volatile.Write(ref _wake, NewSignal());
                    _source.Turn(_urgent());
                    return;
                }
                waits.Add(wake.Task);
            }
            if (delay is { } d) waits.Add(DelayFor(d, stop));
            if (_source.CommitDue() is { } commit) waits.Add(commit);
            var any = Task.WhenAny(waits);
            Volatile.Write(ref _parkedReading, read);
            Volatile.Write(ref _parkedWakeable, wakeable);
            Volatile.Write(ref _parkedOn, any);
            Interlocked.Increment(ref _parks);
            try
            {
                await any.ConfigureAwait(false);
            }
            finally
            {
                Volatile.Write(ref _parkedOn, null);
            }
            stop.ThrowIfCancellationRequested();
            _source.Turn(_urgent());
        }

        /// <summary>A delay on the pipeline's clock, reused while its target stays the same (the loop wakes often while a batch fills).</summary>
        private Task DelayFor(TimeSpan delay, CancellationToken stop)
        {
            // Whole milliseconds, rounded up: a sub-millisecond wait must not round to zero and spin.
            var ms = Math.Ceiling(delay.TotalMilliseconds);
            if (ms < 1) ms = 1;
            delay = TimeSpan.FromMilliseconds(ms);
            var target = _time.GetTimestamp() + (long)(delay.TotalSeconds * _time.TimestampFrequency);
            var tolerance = _time.TimestampFrequency / 1000;
            if (_delayTask != null && !_delayTask.IsCompleted && Math.Abs(_delayTarget - target) <= tolerance) return _delayTask;
            _delayCts?.Cancel();
            _delayCts?.Dispose();
            _delayCts = CancellationTokenSource.CreateLinkedTokenSource(stop);
            _delayTarget = target;
            _delayTask = _time.DelayAsync(delay, _delayCts.Token);
            return _delayTask;
        }

        /// <summary>The delay timer of the last batch is not needed while idle (or once the loop has ended).</summary>
        public void ReleaseIdle()
        {
            _delayCts?.Cancel();
            _delayCts?.Dispose();
            _delayCts = null;
            _delayTask = null;
        }
    }
}
