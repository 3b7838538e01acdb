using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace BentoSinks.Delivery
{
    /// <summary>One flush: completes once every event read before its marker has settled.</summary>
    internal sealed class FlushRequest
    {
        public readonly TaskCompletionSource<bool> Done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The sequence number of the last event read before the marker: the flush waits for it and all before it.</summary>
        public long Target;
    }

    /// <summary>
    /// Flush tracking, by order rather than count: a flush puts a marker in the queue; when the loop reads it, the
    /// marker's target is the sequence number of the last event read before it, and the flush completes once nothing at
    /// or before the target is still held (in the batch, held over, or unread in the source). At most
    /// <see cref="MarkerRoom"/> markers wait in the queue, so they never take the room of events.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The SemaphoreSlim's wait handle is never used, so it holds nothing to release; flushes may still wait on it while the pipeline is disposed.")]
    internal sealed class FlushTracker
    {
        /// <summary>Room in the queue beyond <c>QueueLimit</c> for flush markers; a flush that finds none waits for room.</summary>
        public const int MarkerRoom = 1024;

        private readonly SemaphoreSlim _room = new SemaphoreSlim(MarkerRoom);
        private readonly Queue<FlushRequest> _read = new Queue<FlushRequest>(); // loop only
        private int _waiting;

        /// <summary>Flushes requested and not completed yet.</summary>
        public int Waiting => Volatile.Read(ref _waiting);

        /// <summary>Tests: called on the loop with a flush's target just before it completes.</summary>
        public Action<long>? Completing { get; set; }

        /// <summary>A flush is requested: it counts as waiting (the loop hurries) until it completes or is given up.</summary>
        public FlushRequest Begin()
        {
            Interlocked.Increment(ref _waiting);
            return new FlushRequest();
        }

        /// <summary>A flush that was not queued (disposal has begun, or it was cancelled while waiting for room).</summary>
        public void GiveUp() => Interlocked.Decrement(ref _waiting);

        public bool TryTakeRoom() => _room.Wait(0, CancellationToken.None);

        public Task WaitForRoomAsync(CancellationToken cancellationToken) => _room.WaitAsync(cancellationToken);

        public void ReturnRoom() => _room.Release();

        /// <summary>On the loop: a marker was read after the event numbered <paramref name="target"/>.</summary>
        public void Read(FlushRequest flush, long target)
        {
            flush.Target = target;
            _room.Release();
            _read.Enqueue(flush);
        }

        /// <summary>On the loop: completes the flushes whose target is before <paramref name="oldestHeld"/>.</summary>
        public void CompleteBefore(long oldestHeld)
        {
            while (_read.Count > 0 && _read.Peek().Target < oldestHeld) Complete(_read.Dequeue());
        }

        /// <summary>When the loop ends: every flush read completes (what it waited for has been counted).</summary>
        public void CompleteAll()
        {
            while (_read.Count > 0) Complete(_read.Dequeue());
        }

        private void Complete(FlushRequest flush)
        {
            try { Completing?.Invoke(flush.Target); }
            catch { /* a test hook */ }
            Interlocked.Decrement(ref _waiting);
            flush.Done.TrySetResult(true);
        }
    }
}
