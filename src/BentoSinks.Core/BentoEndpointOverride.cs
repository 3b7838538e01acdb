using System;
using System.Threading;

namespace BentoSinks
{
    /// <summary>
    /// Points every Bento pipeline built inside a scope (a Serilog sink, an OpenTelemetry exporter) at another Bento API
    /// with other credentials, whatever the application's code, configuration and <c>BENTO_*</c> environment variables
    /// say. It is for tests of an application that uses BentoSinks: the emulator's
    /// <c>emulator.UseForAllBentoPipelines()</c> opens one, so an app started under <c>WebApplicationFactory</c> (or any
    /// host) inside the scope sends to the emulator.
    /// </summary>
    /// <remarks>
    /// The override is async-local: it applies to pipelines built on the async flow that opened it and on the tasks and
    /// threads started from it (a host built inside the scope, <c>WebApplicationFactory</c>'s app thread included), and
    /// to no other test running in parallel. A pipeline reads it once, when it is built; one built before the scope
    /// opened, or after it closed, keeps its own settings. Only the endpoint, the site UUID and the two keys are
    /// replaced; every other option (batch size, period, buffer directory, ...) stays as the app configured it.
    /// Precedence, highest first: this override, then values set in code, then configuration, then the <c>BENTO_*</c>
    /// environment variables.
    /// </remarks>
    public static class BentoEndpointOverride
    {
        private static readonly AsyncLocal<Target?> s_current = new AsyncLocal<Target?>();

        /// <summary>
        /// Opens the scope: every Bento pipeline built on this async flow until it is disposed sends to
        /// <paramref name="endpoint"/> with these credentials.
        /// </summary>
        /// <param name="endpoint">The API base, e.g. an emulator's <c>http://127.0.0.1:5080/api/v1</c> (plain <c>http://</c> only for loopback).</param>
        /// <param name="siteUuid">The site UUID to send.</param>
        /// <param name="publishableKey">The publishable key to send.</param>
        /// <param name="secretKey">The secret key to send.</param>
        /// <returns>The scope; disposing it restores the override that was in effect before (none, usually).</returns>
        /// <exception cref="ArgumentException">An argument is null, blank, or not an acceptable endpoint.</exception>
        public static IDisposable Begin(Uri endpoint, string siteUuid, string publishableKey, string secretKey)
        {
            var checkedEndpoint = BentoOptions.CheckEndpoint(endpoint, nameof(endpoint));
            BentoOptions.CheckSiteUuid(siteUuid, nameof(siteUuid));
            BentoOptions.CheckPublishableKey(publishableKey, nameof(publishableKey));
            BentoOptions.CheckSecretKey(secretKey, nameof(secretKey));
            var target = new Target(checkedEndpoint, siteUuid, publishableKey, secretKey, s_current.Value);
            s_current.Value = target;
            return target;
        }

        /// <summary>Whether an override is in effect on the current async flow.</summary>
        public static bool IsActive => Current != null;

        /// <summary>
        /// The innermost override of this flow not disposed yet: one disposed out of order, or on another flow (a
        /// fixture's dispose, a callback) that the flow still holds, is passed over.
        /// </summary>
        private static Target? Current => Target.OpenFrom(s_current.Value);

        /// <summary>When an override is in effect, replaces the endpoint, site UUID and keys of <paramref name="options"/>.</summary>
        internal static void Apply(BentoOptions options)
        {
            if (Current is not { } target) return;
            options.Endpoint = target.Endpoint;
            options.SiteUuid = target.SiteUuid;
            options.PublishableKey = target.PublishableKey;
            options.SecretKey = target.SecretKey;
        }

        /// <summary>The override in effect, for a front end that checks its own arguments before building its options.</summary>
        internal static bool TryGet(out Uri endpoint, out string siteUuid, out string publishableKey, out string secretKey)
        {
            var target = Current;
            endpoint = target?.Endpoint!;
            siteUuid = target?.SiteUuid!;
            publishableKey = target?.PublishableKey!;
            secretKey = target?.SecretKey!;
            return target != null;
        }

        private sealed class Target : IDisposable
        {
            private readonly Target? _previous;
            private int _disposed;

            public Target(Uri endpoint, string siteUuid, string publishableKey, string secretKey, Target? previous)
            {
                Endpoint = endpoint;
                SiteUuid = siteUuid;
                PublishableKey = publishableKey;
                SecretKey = secretKey;
                _previous = previous;
            }

            public Uri Endpoint { get; }
            public string SiteUuid { get; }
            public string PublishableKey { get; }
            public string SecretKey { get; }

            public static Target? OpenFrom(Target? target)
            {
                while (target != null && Volatile.Read(ref target._disposed) != 0) target = target._previous;
                return target;
            }

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
                if (ReferenceEquals(s_current.Value, this)) s_current.Value = OpenFrom(_previous);
            }

            /// <summary>Never the keys.</summary>
            public override string ToString() => "BentoEndpointOverride { Endpoint = " + Endpoint.GetLeftPart(UriPartial.Path) + " }";
        }
    }
}
