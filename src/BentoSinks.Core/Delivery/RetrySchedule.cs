using System;

namespace BentoSinks.Delivery
{
    /// <summary>
    /// When to retry a request that failed transiently (429, 408, 5xx, a timeout, a network failure), as a pure
    /// function of the attempt, the time since the first failure of the current streak and the server's
    /// <c>Retry-After</c>. Exponential backoff with "equal jitter" (half fixed, half random) from 1 s up to 1 min;
    /// a <c>Retry-After</c> is clamped to [0, <see cref="MaxRetryAfter"/>] and stretched by up to 20 % at random so that
    /// a fleet does not retry in step, and never shortens the backoff (a <c>Retry-After: 0</c> on a 5xx does not make a
    /// hot loop). The time limit runs from the first failure of the streak, not from the batch's start.
    /// </summary>
    internal static class RetrySchedule
    {
        /// <summary>The first backoff's ceiling.</summary>
        public static readonly TimeSpan BaseBackoff = TimeSpan.FromSeconds(1);

        /// <summary>The largest backoff.</summary>
        public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(1);

        /// <summary>The longest <c>Retry-After</c> honoured; a larger one (or an absurd date) is clamped to it.</summary>
        public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromMinutes(5);

        /// <summary>The backoff of <paramref name="attempt"/> (0 for the first retry) with <paramref name="random"/> in [0, 1).</summary>
        public static TimeSpan Backoff(int attempt, double random)
        {
            var ceiling = Math.Min(MaxBackoff.TotalMilliseconds, BaseBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(Math.Max(attempt, 0), 16)));
            return TimeSpan.FromMilliseconds(ceiling / 2 + Clamp01(random) * ceiling / 2);
        }

        /// <summary>A server's <c>Retry-After</c>, clamped to [0, <see cref="MaxRetryAfter"/>] and stretched by up to 20 %.</summary>
        public static TimeSpan ServerDelay(TimeSpan retryAfter, double random)
        {
            if (retryAfter <= TimeSpan.Zero) return TimeSpan.Zero;
            if (retryAfter > MaxRetryAfter) retryAfter = MaxRetryAfter;
            return TimeSpan.FromMilliseconds(retryAfter.TotalMilliseconds * (1 + 0.2 * Clamp01(random)));
        }

        /// <summary>
        /// The wait before retry number <paramref name="attempt"/> (0-based), or null to give up: the streak of failures
        /// began <paramref name="sinceFirstFailure"/> ago and may last <paramref name="limit"/>. The last wait is cut
        /// short so that one final attempt happens at the limit.
        /// </summary>
        public static TimeSpan? Next(int attempt, TimeSpan sinceFirstFailure, TimeSpan? retryAfter, TimeSpan limit, double random1, double random2)
        {
            if (sinceFirstFailure < TimeSpan.Zero) sinceFirstFailure = TimeSpan.Zero;
            if (sinceFirstFailure >= limit) return null;
            var delay = Backoff(attempt, random1);
            if (retryAfter is { } server)
            {
                var wanted = ServerDelay(server, random2);
                if (wanted > delay) delay = wanted;
            }
            var remaining = limit - sinceFirstFailure;
            return delay > remaining ? remaining : delay;
        }

        private static double Clamp01(double x) => double.IsNaN(x) || x < 0 ? 0 : x >= 1 ? 0.999999 : x;
    }
}
