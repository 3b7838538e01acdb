using System.Threading;
using System.Threading.Tasks;

namespace BentoSinks.Delivery
{
    /// <summary>
    /// Where the loop gets the events of its next batch. Two sources: <see cref="MemorySource{T}"/> reads the bounded
    /// queue; <see cref="DiskSource{T}"/> spools the queue to the buffer directory and reads batches back from it. The
    /// loop, the wait policy and delivery are the same for both.
    /// </summary>
    internal interface IEventSource<T>
    {
        /// <summary>Whether events go through the buffer directory (their items are placeholders; drops are counted, not handed to listeners).</summary>
        bool Durable { get; }

        /// <summary>
        /// Whether every wait of the loop also wakes for events to read, and takes them in (<see cref="Turn"/>) when it
        /// wakes: the disk source writes each event ahead within its commit window, whatever the loop is waiting for.
        /// </summary>
        bool ReadsWhileWaiting { get; }

        /// <summary>At every turn of the loop and after every wait: the disk source spools what is queued.</summary>
        void Turn(bool urgent);

        /// <summary>Fills the batch (until it is full, an event must wait for the next one, or nothing is left).</summary>
        void Fill(BatchAssembler<T> batch);

        /// <summary>The oldest sequence number the source holds beyond the batch (<see cref="long.MaxValue"/> when none): flushes wait for it.</summary>
        long OldestUnread { get; }

        /// <summary>Events wait in the source that cannot be read yet (a failed read backing off): the loop must not end.</summary>
        bool Waiting { get; }

        /// <summary>A wait the loop adds while parked (the disk source's pending group commit), or null.</summary>
        Task? CommitDue();

        /// <summary>Awaited while a request is on the wire (the disk source keeps spooling); returns when <paramref name="sending"/> is done.</summary>
        Task WhileSending(Task sending, CancellationToken stop);

        /// <summary>Bento has settled the batch (the disk source acknowledges it).</summary>
        void Settled(BatchAssembler<T> batch);

        /// <summary>The loop ends (closed, or stopped hard): everything still held is counted once.</summary>
        void End(BatchAssembler<T> batch, BatchDelivery<T> delivery);
    }
}
