using System;

namespace BentoSinks.Delivery
{
    /// <summary>
    /// The client-side request budget: requests are spaced at least <c>60 s / rate</c> apart. A 429 halves the rate,
    /// blocks until its <c>Retry-After</c>, and caps the rate there (the ceiling); successes raise the rate back up to
    /// the ceiling, and the ceiling itself rises by a twentieth of the configured budget after every 10 minutes without
    /// a 429. So a fleet sharing one account backs off together, settles under the account's limit instead of probing
    /// it every minute, and recovers gradually. Used by the reader loop only.
    /// </summary>
    internal sealed class RequestBudget
    {
        private static readonly TimeSpan QuietPeriod = TimeSpan.FromMinutes(10);

        private readonly TimeProvider _time;
        private readonly double _maxPerMinute;
        private double _ratePerMinute;
        private double _ceiling;
        private long _lastRequest = long.MinValue;
        private long _blockedUntil = long.MinValue;
        private long _lastCeilingChange = long.MinValue;

        public RequestBudget(TimeProvider time, int maxRequestsPerMinute)
        {
            _time = time;
            _maxPerMinute = maxRequestsPerMinute <= 0 ? double.PositiveInfinity : maxRequestsPerMinute;
            _ratePerMinute = _maxPerMinute;
            _ceiling = _maxPerMinute;
        }

        /// <summary>The current allowed rate, in requests a minute (infinite when the budget is lifted and no 429 came).</summary>
        public double CurrentRatePerMinute => _ratePerMinute;

        /// <summary>How long until the next request may go; zero when it may go now.</summary>
        public TimeSpan TimeUntilAvailable() => Wait(honourSpacing: true);

        /// <summary>How long until a 429's <c>Retry-After</c> has passed, ignoring the budget's spacing (flushes and shutdown use it); zero when no block is in force.</summary>
        public TimeSpan TimeUntilUnblocked() => Wait(honourSpacing: false);

        private TimeSpan Wait(bool honourSpacing)
        {
            var now = _time.GetTimestamp();
            var wait = TimeSpan.Zero;
            if (_blockedUntil != long.MinValue)
            {
                var blocked = -_time.GetElapsedTime(_blockedUntil, now);
                if (blocked > wait) wait = blocked;
            }
            if (honourSpacing && _lastRequest != long.MinValue && !double.IsPositiveInfinity(_ratePerMinute))
            {
                var spacing = TimeSpan.FromMinutes(1.0 / _ratePerMinute);
                var sinceLast = _time.GetElapsedTime(_lastRequest, now);
                if (spacing - sinceLast > wait) wait = spacing - sinceLast;
            }
            return wait;
        }

        public void OnRequest() => _lastRequest = _time.GetTimestamp();

        public void OnSuccess()
        {
            if (_ceiling < _maxPerMinute && _time.GetElapsedTime(_lastCeilingChange) >= QuietPeriod)
            {
                _ceiling = double.IsPositiveInfinity(_maxPerMinute) ? double.PositiveInfinity : Math.Min(_maxPerMinute, _ceiling + Step());
                _lastCeilingChange = _time.GetTimestamp();
            }
            if (_ratePerMinute < _ceiling)
                _ratePerMinute = Math.Min(_ceiling, _ratePerMinute + Step());
        }

        /// <summary>A 429: slow down, and wait at least <paramref name="retryAfter"/> before the next request.</summary>
        public void OnThrottled(TimeSpan retryAfter, double observedRatePerMinute)
        {
            var baseRate = double.IsPositiveInfinity(_ratePerMinute) ? Math.Max(2, observedRatePerMinute) : _ratePerMinute;
            _ratePerMinute = Math.Max(1, baseRate / 2);
            _ceiling = _ratePerMinute;
            _lastCeilingChange = _time.GetTimestamp();
            if (retryAfter > RetrySchedule.MaxRetryAfter) retryAfter = RetrySchedule.MaxRetryAfter;
            if (retryAfter > TimeSpan.Zero)
            {
                var until = _time.GetTimestamp() + (long)(retryAfter.TotalSeconds * _time.TimestampFrequency);
                if (until > _blockedUntil) _blockedUntil = until;
            }
        }

        private double Step() => double.IsPositiveInfinity(_maxPerMinute) ? Math.Max(1, _ratePerMinute / 10) : Math.Max(1, _maxPerMinute / 20);
    }
}
