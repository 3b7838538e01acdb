using System;
using System.Collections.Generic;

namespace BentoSinks.Delivery
{
    /// <summary>
    /// The client-side request budget of one Bento account in this process: requests are spaced at least
    /// <c>60 s / rate</c> apart. A 429 halves the rate, blocks until its <c>Retry-After</c>, and caps the rate there (the
    /// ceiling); successes raise the rate back up to the ceiling, and the ceiling itself rises by a twentieth of the
    /// configured budget after every 10 minutes without a 429. So a fleet sharing one account backs off together, settles
    /// under the account's limit instead of probing it every minute, and recovers gradually.
    /// </summary>
    /// <remarks>
    /// Pipelines of one process that send to the same account (endpoint host and site UUID) share one budget and one
    /// 429 state (<see cref="Acquire"/>): a Serilog sink, a trace exporter and a log exporter together spend
    /// <c>MaxRequestsPerMinute</c>, not three times it. Thread-safe; <see cref="TryTake"/> checks and spends atomically.
    /// </remarks>
    internal sealed class RequestBudget
    {
        private static readonly TimeSpan QuietPeriod = TimeSpan.FromMinutes(10);
        private static readonly Dictionary<string, Shared> Registry = new Dictionary<string, Shared>(StringComparer.Ordinal);

        private readonly object _gate = new object();
        private readonly TimeProvider _time;
        private readonly Queue<long> _recentRequests = new Queue<long>();
        private double _maxPerMinute;
        private double _ratePerMinute;
        private double _ceiling;
        private long _lastRequest = long.MinValue;
        private long _blockedUntil = long.MinValue;
        private long _lastCeilingChange = long.MinValue;
        private long _lastThrottled = long.MinValue;

        public RequestBudget(TimeProvider time, int maxRequestsPerMinute)
        {
            _time = time;
            _maxPerMinute = maxRequestsPerMinute <= 0 ? double.PositiveInfinity : maxRequestsPerMinute;
            _ratePerMinute = _maxPerMinute;
            _ceiling = _maxPerMinute;
        }

        /// <summary>
        /// The budget of the account <paramref name="account"/> in this process, shared with every live pipeline that
        /// sends to it on the same clock. Its rate is the smallest <c>MaxRequestsPerMinute</c> they configure (0, no
        /// budget, only when all say so). Dispose the lease when the pipeline ends.
        /// </summary>
        public static Lease Acquire(string account, TimeProvider time, int maxRequestsPerMinute)
        {
            lock (Registry)
            {
                if (!Registry.TryGetValue(account, out var shared) || shared.Budget._time != time)
                {
                    // A pipeline on another clock (a test's fake one) never shares: its waits would mean nothing here.
                    if (shared != null && shared.Budget._time != time) return new Lease(null, null, new RequestBudget(time, maxRequestsPerMinute), maxRequestsPerMinute);
                    shared = new Shared(new RequestBudget(time, maxRequestsPerMinute));
                    Registry[account] = shared;
                }
                shared.Limits.Add(maxRequestsPerMinute);
                shared.Budget.SetLimit(Smallest(shared.Limits));
                return new Lease(account, shared, shared.Budget, maxRequestsPerMinute);
            }
        }

        /// <summary>How many live pipelines share this budget (1 when it is not shared).</summary>
        internal int Sharers { get; private set; } = 1;

        /// <summary>The current allowed rate, in requests a minute (infinite when the budget is lifted and no 429 came).</summary>
        public double CurrentRatePerMinute
        {
            get { lock (_gate) return _ratePerMinute; }
        }

        /// <summary>
        /// Spends one request if it may go now and returns zero; otherwise returns how long to wait. With
        /// <paramref name="honourSpacing"/> false (a flush or disposal is waiting) only a 429's block counts.
        /// </summary>
        public TimeSpan TryTake(bool honourSpacing)
        {
            lock (_gate)
            {
                var now = _time.GetTimestamp();
                var wait = Wait(honourSpacing, now);
                if (wait <= TimeSpan.Zero) Record(now);
                return wait;
            }
        }

        public void OnSuccess()
        {
            lock (_gate)
            {
                if (_ceiling < _maxPerMinute && (_lastCeilingChange == long.MinValue || _time.GetElapsedTime(_lastCeilingChange) >= QuietPeriod))
                {
                    _ceiling = double.IsPositiveInfinity(_maxPerMinute) ? double.PositiveInfinity : Math.Min(_maxPerMinute, _ceiling + Step());
                    _lastCeilingChange = _time.GetTimestamp();
                }
                if (_ratePerMinute < _ceiling)
                    _ratePerMinute = Math.Min(_ceiling, _ratePerMinute + Step());
            }
        }

        /// <summary>A 429: slow down, and wait at least <paramref name="retryAfter"/> (clamped) before the next request.</summary>
        public void OnThrottled(TimeSpan retryAfter)
        {
            lock (_gate)
            {
                var now = _time.GetTimestamp();
                // 429s that arrive while a 429's block is in force (several sharers refused at once) are one signal:
                // the rate is halved once, not once per refused request.
                var alreadyBlocked = _blockedUntil != long.MinValue && _blockedUntil > now;
                if (!alreadyBlocked)
                {
                    var baseRate = double.IsPositiveInfinity(_ratePerMinute) ? Math.Max(2, ObservedRatePerMinute(now)) : _ratePerMinute;
                    _ratePerMinute = Math.Max(1, baseRate / 2);
                    _ceiling = _ratePerMinute;
                    _lastCeilingChange = now;
                    _lastThrottled = now;
                }
                if (retryAfter > RetrySchedule.MaxRetryAfter) retryAfter = RetrySchedule.MaxRetryAfter;
                if (retryAfter > TimeSpan.Zero)
                {
                    var until = now + (long)(retryAfter.TotalSeconds * _time.TimestampFrequency);
                    if (until > _blockedUntil) _blockedUntil = until;
                }
            }
        }

        private void Record(long now)
        {
            _lastRequest = now;
            _recentRequests.Enqueue(now);
            ObservedRatePerMinute(now);
        }

        /// <summary>Requests spent in the last minute (by every sharer).</summary>
        private int ObservedRatePerMinute(long now)
        {
            var minute = _time.TimestampFrequency * 60;
            while (_recentRequests.Count > 0 && now - _recentRequests.Peek() > minute) _recentRequests.Dequeue();
            return _recentRequests.Count;
        }

        private TimeSpan Wait(bool honourSpacing, long now)
        {
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

        private void SetLimit(int maxRequestsPerMinute)
        {
            lock (_gate)
            {
                _maxPerMinute = maxRequestsPerMinute <= 0 ? double.PositiveInfinity : maxRequestsPerMinute;
                var throttledLately = _lastThrottled != long.MinValue && _time.GetElapsedTime(_lastThrottled) < QuietPeriod;
                if (_ceiling > _maxPerMinute || !throttledLately)
                {
                    // Lowered: at once. Raised (the strictest sharer left): at once too, unless Bento said 429 lately,
                    // in which case the ceiling climbs back as usual.
                    _ceiling = _maxPerMinute;
                    _ratePerMinute = _maxPerMinute;
                }
                if (_ratePerMinute > _ceiling) _ratePerMinute = _ceiling;
            }
        }

        private double Step() => double.IsPositiveInfinity(_maxPerMinute) ? Math.Max(1, _ratePerMinute / 10) : Math.Max(1, _maxPerMinute / 20);

        private static int Smallest(List<int> limits)
        {
            var smallest = 0;
            foreach (var l in limits)
                if (l > 0 && (smallest == 0 || l < smallest)) smallest = l;
            return smallest;
        }

        internal sealed class Shared
        {
            public Shared(RequestBudget budget) => Budget = budget;

            public RequestBudget Budget { get; }

            public List<int> Limits { get; } = new List<int>();
        }

        /// <summary>A pipeline's hold on its account's budget.</summary>
        internal sealed class Lease : IDisposable
        {
            private readonly string? _account;
            private readonly Shared? _shared;
            private readonly int _limit;
            private bool _released;

            public Lease(string? account, Shared? shared, RequestBudget budget, int limit)
            {
                _account = account;
                _shared = shared;
                _limit = limit;
                Budget = budget;
                if (shared != null) budget.Sharers = shared.Limits.Count;
            }

            public RequestBudget Budget { get; }

            public void Dispose()
            {
                if (_shared is null || _account is null) return;
                lock (Registry)
                {
                    if (_released) return;
                    _released = true;
                    _shared.Limits.Remove(_limit);
                    Budget.Sharers = Math.Max(1, _shared.Limits.Count);
                    if (_shared.Limits.Count == 0) Registry.Remove(_account);
                    else Budget.SetLimit(Smallest(_shared.Limits));
                }
            }
        }
    }
}
