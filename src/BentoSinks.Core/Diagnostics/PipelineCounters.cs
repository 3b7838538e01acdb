using System.Threading;

namespace BentoSinks.Diagnostics
{
    /// <summary>
    /// The pipeline's accounting, updated atomically. At every moment
    /// <c>Offered = Sent + dropped (all reasons) + InFlight</c>, where offered counts every analytics event the
    /// front end handed over (including those dropped before the queue: no email, excluded, queue full).
    /// </summary>
    internal sealed class PipelineCounters
    {
        private long _offered;
        private long _sent;
        private long _requests;
        private long _retries;
        private long _answered;
        private long _deferred;
        private readonly long[] _dropped = new long[DropReasons.Count];

        public PipelineCounters() : this(System.TimeProvider.System) { }

        public PipelineCounters(System.TimeProvider time) => Health = new DeliveryHealth(this, time);

        /// <summary>The pipeline's delivery state beyond its counts (for <see cref="BentoDeliveryStatus"/>).</summary>
        public DeliveryHealth Health { get; }

        public long Offered => Volatile.Read(ref _offered);
        public long Sent => Volatile.Read(ref _sent);
        public long Requests => Volatile.Read(ref _requests);
        public long Retries => Volatile.Read(ref _retries);
        /// <summary>Requests whose outcome (an answer, a timeout, a failure) the pipeline has taken in.</summary>
        public long Answered => Volatile.Read(ref _answered);

        /// <summary>Events left in the buffer directory at disposal, for the next process on it to send (not dropped).</summary>
        public long Deferred => Volatile.Read(ref _deferred);

        public long Dropped(DropReason reason) => Volatile.Read(ref _dropped[(int)reason]);

        public long DroppedTotal
        {
            get
            {
                long total = 0;
                for (var i = 0; i < _dropped.Length; i++) total += Volatile.Read(ref _dropped[i]);
                return total;
            }
        }

        /// <summary>Events accepted and neither sent nor dropped yet.</summary>
        /// <remarks>
        /// The settled counts are read before <see cref="Offered"/>: offered only grows and always covers what has settled,
        /// so a reading racing the pipeline is never negative (it may count an event that settles meanwhile).
        /// </remarks>
        public long InFlight
        {
            get
            {
                var settled = Sent + DroppedTotal + Deferred;
                return Offered - settled;
            }
        }

        internal void AddOffered() => Interlocked.Increment(ref _offered);
        internal void AddOffered(long n) => Interlocked.Add(ref _offered, n);
        internal void AddSent(long n) => Interlocked.Add(ref _sent, n);
        internal void AddDropped(DropReason reason, long n)
        {
            Interlocked.Add(ref _dropped[(int)reason], n);
            Health.Dropped(reason);
        }

        internal void AddDeferred(long n) => Interlocked.Add(ref _deferred, n);
        internal void AddRequest() => Interlocked.Increment(ref _requests);
        internal void AddRetry() => Interlocked.Increment(ref _retries);
        internal void AddAnswered() => Interlocked.Increment(ref _answered);

        public override string ToString()
        {
            var sb = new System.Text.StringBuilder();
            sb.Append("offered=").Append(Offered).Append(" sent=").Append(Sent).Append(" in_flight=").Append(InFlight)
              .Append(Deferred > 0 ? " deferred=" + Deferred : string.Empty).Append(" requests=").Append(Requests).Append(" retries=").Append(Retries);
            for (var i = 0; i < _dropped.Length; i++)
            {
                var n = Volatile.Read(ref _dropped[i]);
                if (n > 0) sb.Append(" dropped.").Append(((DropReason)i).Name()).Append('=').Append(n);
            }
            return sb.ToString();
        }
    }
}
