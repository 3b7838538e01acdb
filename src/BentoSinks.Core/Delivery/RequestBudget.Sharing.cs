using System;
using System.Collections.Generic;

namespace BentoSinks.Delivery
{
    /// <summary>Sharing one account's budget between the pipelines of a process: the registry, the leases, the smallest limit.</summary>
    internal sealed partial class RequestBudget
    {
        private static readonly Dictionary<string, Shared> Registry = new Dictionary<string, Shared>(StringComparer.Ordinal);

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

        private void SetLimit(int maxRequestsPerMinute)
        {
            lock (_gate)
            {
                _maxPerMinute = maxRequestsPerMinute <= 0 ? double.PositiveInfinity : maxRequestsPerMinute;
                var throttledLately = _lastThrottled != long.MinValue && _time.GetElapsedTime(_lastThrottled) < QuietInterval;
                // Lowered: at once. Raised (the strictest sharer left): at once too, unless Bento said 429 lately, in which
                // case the rate climbs back as usual.
                if (_ratePerMinute > _maxPerMinute || !throttledLately) _ratePerMinute = _maxPerMinute;
            }
        }

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
