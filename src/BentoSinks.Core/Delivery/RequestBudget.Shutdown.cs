using System;

namespace BentoSinks.Delivery
{
    /// <summary>At disposal: how many requests still fit before the deadline, and a 429's spread redrawn within it.</summary>
    internal sealed partial class RequestBudget
    {
        /// <summary>At disposal, a request is not planned later than this before the deadline (it needs its answer in time).</summary>
        internal static readonly TimeSpan ShutdownMargin = TimeSpan.FromSeconds(2);

        /// <summary>Tests: how many times a 429's spread was redrawn within a shutdown's time left.</summary>
        internal int SpreadsRedrawn { get; private set; }

        /// <summary>
        /// How many requests a flush or disposal may still spend within <paramref name="timeLeft"/>: 0 when a 429's block
        /// lasts past it; <see cref="int.MaxValue"/> when nothing but a block paces them (no 429 lately).
        /// </summary>
        public int ShutdownAllowance(TimeSpan timeLeft)
        {
            lock (_gate)
            {
                var now = _time.GetTimestamp();
                // Asked at disposal before the wait for a retry (a 429 just came): the spread is redrawn here as in TryTake,
                // or a 429 whose Retry-After leaves time for the retry would end the disposal.
                FitSpreadBefore(now, timeLeft);
                var first = Wait(honourSpacing: false, now, disposing: true);
                if (first > timeLeft || timeLeft < TimeSpan.Zero) return 0;
                var spacing = UrgentSpacing(now);
                if (spacing <= TimeSpan.Zero) return int.MaxValue;
                var more = (timeLeft - first).Ticks / spacing.Ticks;
                return (int)Math.Min(int.MaxValue, 1 + more);
            }
        }

        /// <summary>
        /// At disposal, with <paramref name="timeLeft"/> to go: a block whose random spread ends past the deadline (less
        /// <see cref="ShutdownMargin"/> for the request itself) while its <c>Retry-After</c> ends before it ends instead at a
        /// random point between the two, once, for the disposing pipelines only: the budget's sharers that are not disposing
        /// keep the whole spread (one pipeline's deadline is no reason for another to come back early).
        /// </summary>
        private void FitSpreadBefore(long now, TimeSpan timeLeft)
        {
            var blockedUntil = BlockedUntil(disposing: true);
            if (blockedUntil == long.MinValue || timeLeft == TimeSpan.MaxValue) return;
            var room = timeLeft - ShutdownMargin;
            var soft = -_time.GetElapsedTime(blockedUntil, now);
            var hard = _hardBlockedUntil == long.MinValue ? TimeSpan.Zero : -_time.GetElapsedTime(_hardBlockedUntil, now);
            if (hard < TimeSpan.Zero) hard = TimeSpan.Zero;
            if (soft <= room || hard >= room) return;
            var fit = hard + TimeSpan.FromTicks((long)((room - hard).Ticks * _random.NextDouble()));
            _fittedUntil = now + (long)(fit.TotalSeconds * _time.TimestampFrequency);
            SpreadsRedrawn++;
        }

        /// <summary>Until when a 429 blocks requests: for a disposing pipeline, the block as redrawn within its time left.</summary>
        private long BlockedUntil(bool disposing)
            => disposing && _fittedUntil != long.MinValue && _fittedUntil < _blockedUntil ? _fittedUntil : _blockedUntil;
    }
}
