using System;
using System.Threading;
using System.Threading.Tasks;
using BentoSinks.Diagnostics;
using BentoSinks.Durable;

namespace BentoSinks.Delivery
{
    /// <summary>
    /// The disk source (<c>BufferDirectory</c> set): it takes the queue, serializes each event and appends it to the
    /// buffer, writing each pass to the OS in one group commit; batches are read back from the segments (records an
    /// earlier process left come first), and the buffer is acknowledged once Bento has settled a batch. The loop calls
    /// <see cref="Turn"/> at every turn and after every wait, so spooling never depends on what the loop waits for.
    /// </summary>
    internal sealed class DiskSource<T> : IEventSource<T>
    {
        private readonly EventQueue<T> _queue;
        private readonly FlushTracker _flushes;
        private readonly DeliveryLedger<T> _ledger;
        private readonly RateLimitedReporter _reporter;
        private readonly PipelineCounters _counters;
        private readonly BatchAssembler<T> _serializer;
        private readonly Func<bool> _urgent;
        private long _sequence;
        private Task? _commitTimer;

        public DiskSource(DurableBuffer buffer, EventQueue<T> queue, FlushTracker flushes, DeliveryLedger<T> ledger, RateLimitedReporter reporter,
            PipelineCounters counters, BatchAssembler<T> serializer, Func<bool> urgent)
        {
            _urgent = urgent;
            Buffer = buffer;
            _queue = queue;
            _flushes = flushes;
            _ledger = ledger;
            _reporter = reporter;
            _counters = counters;
            _serializer = serializer;
        }

        public DurableBuffer Buffer { get; }

        public bool Durable => true;

        public bool ReadsWhileWaiting => true;

        public long OldestUnread => Buffer.OldestUnreadSequence;

        public bool Waiting => Buffer.ReadBackingOff;

        public void Turn(bool urgent) => Spool(4096, urgent);

        /// <summary>Reads the queue, appends each event to the buffer and commits the group; returns how many events were read.</summary>
        private int Spool(int max, bool commitNow)
        {
            Buffer.RetryIfDue();
            var read = 0;
            while (read < max && _queue.TryRead(out var entry))
            {
                if (entry.Flush != null)
                {
                    _flushes.Read(entry.Flush, _sequence);
                    continue;
                }
                read++;
                var item = entry.Item;
                if (!_serializer.Serialize(item) || _serializer.DropIfTooLarge(item)) continue;
                // Numbered only once it is written: the records on disk are numbered one by one, so a damaged region
                // is counted by the gap in the numbers around it. (A dropped event settles at once: no flush waits on it.)
                Buffer.Append(_serializer.Serialized, ++_sequence);
            }
            // A flush or disposal waiting: the group is written now, so that it can be read back and sent.
            Buffer.CommitIfDue(commitNow || _urgent());
            return read;
        }

        public void Fill(BatchAssembler<T> batch)
        {
            while (batch.HasRoom && Buffer.TryPeek(out var json, out var sequence, out var end))
            {
                if (batch.TooLargeAlone(json.Length))
                {
                    // Written by a process with a larger MaxRequestBytes: dead-lettered and settled, so the checkpoint moves
                    // past it (with the batch, or at once when there is none) and its segment can go.
                    Buffer.DeadLetter(json, 0, "larger than MaxRequestBytes");
                    Buffer.Consume();
                    _ledger.Count(DropReason.TooLarge, 1);
                    if (!end.IsNone)
                    {
                        if (batch.Count == 0) Buffer.Acknowledge(end);
                        else batch.End = end;
                    }
                    continue;
                }
                batch.AddRead(json, sequence, end);
                Buffer.Consume();
            }
        }

        public void Settled(BatchAssembler<T> batch)
        {
            if (!batch.End.IsNone) Buffer.Acknowledge(batch.End);
        }

        /// <summary>A real-time timer for the pending group commit (the fake clock of tests does not move it).</summary>
        public Task? CommitDue()
        {
            if (!Buffer.HasPending) return null;
            if (_commitTimer is null || _commitTimer.IsCompleted) _commitTimer = Task.Delay(Buffer.CommitDueIn + TimeSpan.FromMilliseconds(1));
            return _commitTimer;
        }

        /// <summary>While a request is on the wire, new events are still written to disk as they come.</summary>
        public async Task WhileSending(Task sending, CancellationToken stop)
        {
            while (!sending.IsCompleted)
            {
                var readable = _queue.ReadWait(stop);
                if (readable.IsCompleted && !_queue.HasEntries) break; // completed and drained
                var commit = CommitDue();
                if (commit != null) await Task.WhenAny(sending, readable, commit).ConfigureAwait(false);
                else await Task.WhenAny(sending, readable).ConfigureAwait(false);
                Spool(4096, commitNow: false);
            }
            await sending.ConfigureAwait(false);
        }

        /// <summary>
        /// When the loop ends: what is queued goes to disk, and what is on disk (the batch in hand included) stays there for
        /// the next process, counted <c>deferred</c> rather than dropped; what is on no disk (kept in memory after a disk
        /// failure, or read from a segment deleted since) is dropped as <c>shutdown</c>.
        /// </summary>
        public void End(BatchAssembler<T> batch, BatchDelivery<T> delivery)
        {
            _queue.Complete();
            long deferred = 0;
            try
            {
                while (Spool(int.MaxValue, commitNow: true) > 0) { }
                var unsettled = delivery.InProgress ? delivery.Remaining() : batch.DeliveryBegun ? 0 : batch.Count;
                var fromMemory = delivery.InProgress || !batch.DeliveryBegun ? delivery.Abandon(batch.FromMemory, batch.Count) : 0;
                // Deferred is what is really on disk and unsettled: the records not read yet, and those of the batch in
                // hand and the held one that came from disk. (Never derived from the counters: a writer racing disposal
                // counts its event offered before it counts it dropped.)
                Buffer.ForgetMissing(atEnd: true);
                var inHandOnDisk = unsettled - fromMemory;
                if (inHandOnDisk > 0 && !Buffer.IsOnDisk(batch.End))
                {
                    fromMemory += inHandOnDisk; // read from a segment that has since been deleted from outside
                    inHandOnDisk = 0;
                }
                var heldOnDisk = batch.HasHeld && Buffer.IsOnDisk(batch.HeldEnd);
                if (batch.HasHeld && !heldOnDisk) fromMemory++;
                deferred = Buffer.UnreadOnDisk + inHandOnDisk + (heldOnDisk ? 1 : 0);
                fromMemory += Buffer.InMemory;
                batch.Clear();
                if (batch.HasHeld) batch.DropHeld();
                if (fromMemory > 0) _ledger.Count(DropReason.Shutdown, fromMemory);
            }
            finally
            {
                Buffer.Dispose();
            }
            if (deferred > 0)
            {
                _counters.AddDeferred(deferred);
                _reporter.Problem("buffer:deferred", "Bento: " + deferred + " undelivered events stay in the buffer directory; the next process on it sends them first.", error: false);
            }
        }
    }
}
