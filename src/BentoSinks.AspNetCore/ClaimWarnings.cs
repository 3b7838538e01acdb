using System;
using System.Threading;
using BentoSinks.Diagnostics;
using Microsoft.Extensions.Logging;

namespace BentoSinks.AspNetCore
{
    /// <summary>
    /// Why a signed-in user's claims gave no identity, or a smaller one: a warning in the app's log, at most one per kind
    /// every 5 minutes (with the number of occurrences since the last one), and a count on the <c>BentoSinks.Core</c>
    /// meter (<c>bento.identity.values_omitted</c>). Never an email or a name.
    /// </summary>
    internal sealed class ClaimWarnings
    {
        internal static readonly TimeSpan Interval = TimeSpan.FromMinutes(5);

        private static readonly string[] Kinds = { IdentityMetrics.EmailUnverified, IdentityMetrics.EmailRefused, IdentityMetrics.NameTooLong };

        private static readonly string[] Messages =
        {
            "Bento: a signed-in user's email claim is marked unverified (email_verified=false); an unverified email may belong to "
                + "someone else, so the request gets no identity and its analytics events without an email of their own are dropped "
                + "(no_email). To use unverified emails anyway, set BentoIdentityOptions.AllowUnverifiedEmail = true.",
            "Bento: a signed-in user's email claim does not look like an email address, or holds control, bidi-override or "
                + "invisible characters; the request gets no identity and its analytics events without an email of their own are "
                + "dropped (no_email).",
            "Bento: a signed-in user's first or last name claim is longer than " + BentoIdentity.MaxNameLength + " characters; it is "
                + "left out of first_name/last_name and the events are kept.",
        };

        private readonly ILogger? _logger;
        private readonly TimeProvider _time;
        private readonly object _gate = new object();
        private readonly long[] _last = { long.MinValue, long.MinValue, long.MinValue };
        private readonly int[] _suppressed = new int[3];

        public ClaimWarnings(ILogger? logger, TimeProvider? time = null)
        {
            _logger = logger;
            _time = time ?? TimeProvider.System;
        }

        /// <summary>Counts <paramref name="kind"/> (one of <see cref="IdentityMetrics"/>' reasons) and warns, rate-limited.</summary>
        public void Report(string kind, bool count = true)
        {
            if (count) IdentityMetrics.ValueOmitted(kind);
            var i = Array.IndexOf(Kinds, kind);
            if (i < 0 || _logger is null) return;
            int suppressed;
            lock (_gate)
            {
                var now = _time.GetTimestamp();
                if (_last[i] != long.MinValue && _time.GetElapsedTime(_last[i], now) < Interval)
                {
                    _suppressed[i]++;
                    return;
                }
                _last[i] = now;
                suppressed = Interlocked.Exchange(ref _suppressed[i], 0);
            }
            var message = suppressed == 0 ? Messages[i] : Messages[i] + " (" + suppressed + " more since the last warning.)";
#pragma warning disable CA1848, CA2254 // rate-limited; the text carries no personal data
            try { _logger.LogWarning(message); }
            catch { /* the app's logging failure is its own */ }
#pragma warning restore CA1848, CA2254
        }
    }
}
