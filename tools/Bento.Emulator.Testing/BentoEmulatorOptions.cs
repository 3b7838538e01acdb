using System;

namespace Bento.Emulator
{
    /// <summary>How the emulator behaves: the credentials it accepts, its rate limit and its clock.</summary>
    public sealed class BentoEmulatorOptions
    {
        /// <summary>The default site UUID: <c>emulator-site</c>.</summary>
        public const string DefaultSiteUuid = "emulator-site";
        /// <summary>The default publishable key: <c>emulator-publishable-key</c>.</summary>
        public const string DefaultPublishableKey = "emulator-publishable-key";
        /// <summary>The default secret key: <c>emulator-secret-key</c>.</summary>
        public const string DefaultSecretKey = "emulator-secret-key";

        /// <summary>Where Kestrel listens; port 0 picks a free port (read <see cref="BentoEmulator.BaseAddress"/>).</summary>
        public string Url { get; set; } = "http://127.0.0.1:0";

        /// <summary>The site UUID requests must carry.</summary>
        public string SiteUuid { get; set; } = DefaultSiteUuid;

        /// <summary>The publishable key of the Basic credentials.</summary>
        public string PublishableKey { get; set; } = DefaultPublishableKey;

        /// <summary>The secret key of the Basic credentials.</summary>
        public string SecretKey { get; set; } = DefaultSecretKey;

        /// <summary>When set, requests past this many in the last 60 seconds get 429 with <c>Retry-After</c>, as Bento does at 100 a minute.</summary>
        public int? RateLimitPerMinute { get; set; }

        /// <summary>When set, a body larger than this gets 413 (Bento documents no limit).</summary>
        public long? MaxRequestBytes { get; set; }

        /// <summary>The clock of the rate limit and of injected delays; tests share a fake one with the pipeline.</summary>
        public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

        /// <summary>Print one line per received batch to the console.</summary>
        public bool LogToConsole { get; set; }

        /// <summary>
        /// The most events (and requests) kept for assertions, the page and the inspection API: past it the oldest are let
        /// go, a tenth at a time, and counted (<see cref="BentoEmulator.EvictedEvents"/>, shown on the page). 1,000,000 by default.
        /// </summary>
        public int MaxRecordedEvents { get; set; } = 1_000_000;

        /// <summary>Keep every accepted event's JSON (for assertions). Benchmarks turn it off and read counts only.</summary>
        public bool RecordEvents { get; set; } = true;
    }
}
