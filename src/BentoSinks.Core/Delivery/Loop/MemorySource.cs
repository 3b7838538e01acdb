using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using BentoSinks.Diagnostics;

namespace BentoSinks.Delivery
{
    /// <summary>The memory source: the batch is filled straight from the bounded queue, serialized on the loop.</summary>
    internal sealed class MemorySource<T> : IEventSource<T>
    {
        private readonly EventQueue<T> _queue;
        private readonly FlushTracker _flushes;
        private readonly DeliveryLedger<T> _ledger;
        private long _sequence;

        public MemorySource(EventQueue<T> queue, FlushTracker flushes, DeliveryLedger<T> ledger)
        {
            _queue = queue;
            _flushes = flushes;
            _ledger = ledger;
        }

        public bool Durable => false;

        public bool ReadsWhileWaiting => false;

        public long OldestUnread => long.MaxValue;

        public bool Waiting => false;

        public void Turn(bool urgent) { }

        public void Fill(BatchAssembler<T> batch)
        {
            while (batch.HasRoom && _queue.TryRead(out var entry))
            {
                if (entry.Flush != null)
                {
                    _flushes.Read(entry.Flush, _sequence);
                    continue;
                }
                var sequence = ++_sequence;
                var item = entry.Item;
                if (!batch.Serialize(item) || batch.DropIfTooLarge(item)) continue;
                batch.AddSerialized(item, sequence);
            }
        }

        public Task? CommitDue() => null;

        public Task WhileSending(Task sending, CancellationToken stop) => sending;

        public void Settled(BatchAssembler<T> batch) { }

        public void End(BatchAssembler<T> batch, BatchDelivery<T> delivery)
        {
            var left = new List<T>();
            if (delivery.InProgress) delivery.DropRemaining(batch.Items, DropReason.Shutdown);
            else if (!batch.DeliveryBegun) left.AddRange(batch.Items); // a begun batch with no work left has settled
            batch.Clear();
            if (batch.HasHeld) left.Add(batch.DropHeld());
            _queue.Complete();
            while (_queue.TryRead(out var entry))
            {
                if (entry.Flush != null) _flushes.Read(entry.Flush, _sequence);
                else left.Add(entry.Item);
            }
            if (left.Count > 0) _ledger.Dropped(DropReason.Shutdown, left);
        }
    }
}
