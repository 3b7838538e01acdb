using System;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;

namespace BentoSinks.Delivery
{
    /// <summary>An event or a flush marker in the queue.</summary>
    internal readonly struct QueueEntry<T>
    {
        public QueueEntry(T item, FlushRequest? flush)
        {
            Item = item;
            Flush = flush;
        }

        public T Item { get; }
        public FlushRequest? Flush { get; }
    }

    /// <summary>
    /// The bounded memory queue between the application's threads and the loop. <c>QueueLimit</c> is enforced by a
    /// count, so events never take the room kept for flush markers. A bounded channel stores entries in one ring buffer
    /// that is reused, where an unbounded one allocates a new, ever larger segment each time the last one fills. The
    /// loop does not wake for every event: it sets a threshold (<see cref="WakeAt"/>) and the writer that reaches it
    /// wakes the loop.
    /// </summary>
    internal sealed class EventQueue<T>
    {
        private readonly Channel<QueueEntry<T>> _channel;
        private readonly int _limit;
        private readonly Action _wake;
        private int _queued;
        private int _wakeAtQueued = int.MaxValue;
        private Task<bool>? _readWait;

        public EventQueue(int limit, Action wake)
        {
            _limit = limit;
            _wake = wake;
            _channel = Channel.CreateBounded<QueueEntry<T>>(new BoundedChannelOptions((int)Math.Min(int.MaxValue, (long)limit + FlushTracker.MarkerRoom))
            {
                SingleReader = true,
                SingleWriter = false,
                AllowSynchronousContinuations = false,
                FullMode = BoundedChannelFullMode.Wait,
            });
        }

        /// <summary>Events queued and not read yet.</summary>
        public int Count => Volatile.Read(ref _queued);

        /// <summary>Whether the queue is completed (closing) and drained.</summary>
        public bool Drained => _channel.Reader.Completion.IsCompleted;

        /// <summary>On the caller's thread: queues <paramref name="item"/>; false when the queue is full or completed.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryWrite(T item)
        {
            // A plain read first: a full queue (overload) must not cost two contended atomic operations per event.
            if (Volatile.Read(ref _queued) >= _limit) return false;
            var queued = Interlocked.Increment(ref _queued);
            if (queued <= _limit && _channel.Writer.TryWrite(new QueueEntry<T>(item, null)))
            {
                // The loop waits for a batch to fill without reading each event: wake it once there are enough.
                if (queued >= Volatile.Read(ref _wakeAtQueued)) _wake();
                return true;
            }
            Interlocked.Decrement(ref _queued);
            return false;
        }

        /// <summary>Queues a flush marker (the caller holds one of the tracker's rooms).</summary>
        public bool TryWriteMarker(FlushRequest flush) => _channel.Writer.TryWrite(new QueueEntry<T>(default!, flush));

        /// <summary>On the loop: the next entry, if any.</summary>
        public bool TryRead(out QueueEntry<T> entry)
        {
            if (!_channel.Reader.TryRead(out entry)) return false;
            if (entry.Flush is null) Interlocked.Decrement(ref _queued);
            return true;
        }

        public bool HasEntries => _channel.Reader.TryPeek(out _);

        /// <summary>No more entries: disposal has begun.</summary>
        public void Complete() => _channel.Writer.TryComplete();

        /// <summary>Completes when an entry can be read (or the queue is completed and drained); reused while pending.</summary>
        public Task<bool> ReadWait(CancellationToken stop)
        {
            var wait = _readWait;
            if (wait is null || wait.IsCompleted)
            {
                wait = _channel.Reader.WaitToReadAsync(stop).AsTask();
                _readWait = wait;
            }
            return wait;
        }

        /// <summary>
        /// Sets the count of queued events that wakes the loop; returns whether it is already reached with an entry to
        /// read. A full fence: the read of the count must not move before the write (writers increment, then read it).
        /// </summary>
        public bool WakeAt(int threshold, out bool reached)
        {
            Interlocked.Exchange(ref _wakeAtQueued, threshold);
            reached = Volatile.Read(ref _queued) >= threshold;
            return reached && HasEntries;
        }

        public void ClearWakeAt() => Volatile.Write(ref _wakeAtQueued, int.MaxValue);
    }
}
