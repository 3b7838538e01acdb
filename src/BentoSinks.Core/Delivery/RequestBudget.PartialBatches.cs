using System;

namespace BentoSinks.Delivery
{
    /// <summary>Partial batches: how long one waits to fill, and how far apart they go while gentle (see the remarks on the class).</summary>
    internal sealed partial class RequestBudget
    {
        /// <summary>While contended (a 429 within a jittered <see cref="QuietInterval"/>) a partial batch waits this long to fill.</summary>
        internal static readonly TimeSpan ContendedFillTime = TimeSpan.FromSeconds(60);

        /// <summary>While gentle (see <see cref="GentleIntervals"/>) a pipeline's partial batches go at most this often.</summary>
        internal static readonly TimeSpan GentleSpacing = TimeSpan.FromSeconds(40);

        /// <summary>A new budget is gentle for this many jittered <see cref="QuietInterval"/>s (15–25 minutes).</summary>
        internal const int GentleIntervals = 2;

        /// <summary>After a 429 the budget is gentle until this many jittered <see cref="QuietInterval"/>s without another (45–75 minutes).</summary>
        internal const int GentleIntervalsAfter429 = 6;

        /// <summary>
        /// After the gentle phase, a pipeline's partial batches may go this many more times a minute (× jitter 0.5–1.5 drawn
        /// per 429) per hour without a 429: 1.5 a minute at its end, <c>Period</c>'s 6 about 4.5 hours later. A fleet's
        /// requests climb back slowly and at different paces, so the account is found full by a few instances at a time.
        /// </summary>
        internal const double RampPerHour = 1;

        /// <summary>
        /// How long a partial batch waits to fill before it goes (it goes as soon as it is full): <paramref name="period"/>,
        /// but at least <see cref="ContendedFillTime"/> while the account is contended (a 429 within a quiet interval,
        /// jittered per 429 so that instances refused together do not leave it together).
        /// </summary>
        public TimeSpan PartialFillTime(TimeSpan period)
        {
            lock (_gate)
            {
                var contended = _lastThrottled != long.MinValue && _time.GetElapsedTime(_calmFrom) < _calmInterval;
                return contended && period < ContendedFillTime ? ContendedFillTime : period;
            }
        }

        /// <summary>
        /// The least spacing of a pipeline's partial batches (× 0.75–1.25 per request): <see cref="GentleSpacing"/> for the first
        /// <see cref="GentleIntervals"/> quiet intervals of the budget (<see cref="GentleIntervalsAfter429"/> after a 429),
        /// then shrinking as their rate a minute climbs from 1.5 by <see cref="RampPerHour"/> × jitter an hour, so that the
        /// end of the gentle phase is a slow climb, not a step back to <c>Period</c>. Zero with no ceiling
        /// (<c>MaxRequestsPerMinute</c> 0 lifts the budget, its gentle start too).
        /// </summary>
        private TimeSpan GentleSpacingAt(long now)
        {
            if (double.IsPositiveInfinity(_maxPerMinute)) return TimeSpan.Zero;
            var phase = TimeSpan.FromTicks(_calmInterval.Ticks * (_lastThrottled == long.MinValue ? GentleIntervals : GentleIntervalsAfter429));
            var past = _time.GetElapsedTime(_calmFrom, now) - phase;
            // × 0.75-1.25 per request: instances that started together do not stay in step (50 of them every 40 s would
            // put all 100 of a minute's requests into two instants).
            if (past <= TimeSpan.Zero) return TimeSpan.FromTicks((long)(GentleSpacing.Ticks * _spacingJitter));
            var perMinute = Window.TotalSeconds / GentleSpacing.TotalSeconds + past.TotalHours * RampPerHour * _rampJitter;
            return perMinute >= 60 ? TimeSpan.Zero : TimeSpan.FromTicks((long)(Window.Ticks * _spacingJitter / perMinute));
        }
    }
}
