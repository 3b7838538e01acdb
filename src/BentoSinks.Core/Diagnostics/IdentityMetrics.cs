using System.Collections.Generic;
using System.Diagnostics.Metrics;

namespace BentoSinks.Diagnostics
{
    /// <summary>
    /// Counts what an identity left out, on the <c>BentoSinks.Core</c> meter: <c>bento.identity.values_omitted</c>, tagged
    /// <c>reason</c> = <see cref="NameTooLong"/>, <see cref="EmailUnverified"/> or <see cref="EmailRefused"/>. Not a
    /// pipeline's instrument: an identity serves every pipeline of the process.
    /// </summary>
    internal static class IdentityMetrics
    {
        /// <summary>A first or last name longer than <see cref="BentoIdentity.MaxNameLength"/>: left out, the event kept.</summary>
        public const string NameTooLong = "name_too_long";

        /// <summary>An email claim the token marks unverified (<c>email_verified=false</c>): no identity.</summary>
        public const string EmailUnverified = "email_unverified";

        /// <summary>An email claim that does not look like an email (or hides characters): no identity.</summary>
        public const string EmailRefused = "email_refused";

        private static readonly Meter Meter = new Meter(BentoDiagnosticNames.MeterName, typeof(IdentityMetrics).Assembly.GetName().Version?.ToString());
        private static readonly Counter<long> Omitted = Meter.CreateCounter<long>(
            "bento.identity.values_omitted", "{value}", "Identity values left out: a name too long, an unverified or refused email claim.");

        public static void ValueOmitted(string reason)
        {
            try { Omitted.Add(1, new KeyValuePair<string, object?>("reason", reason)); }
            catch { /* a listener's failure is its own */ }
        }
    }
}
