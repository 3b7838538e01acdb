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

        /// <summary>The default body size limit: 10 MB (Bento documents none; see <see cref="MaxRequestBytes"/>).</summary>
        public const long DefaultMaxRequestBytes = 10L * 1024 * 1024;

        /// <summary>The default byte budget of what is kept: 256 MB.</summary>
        public const long DefaultMaxRetainedBytes = 256L * 1024 * 1024;

        /// <summary>
        /// A body larger than this gets 413, from its <c>Content-Length</c> before it is read, or as soon as reading passes
        /// it. Bento documents no limit: 10 MB by default (more than a full batch of 1,000 events our clients send); null
        /// means the default.
        /// </summary>
        public long? MaxRequestBytes { get; set; }

        /// <summary>
        /// The byte budget of everything kept for assertions, the page and the inspection API: request bodies, events, and
        /// the counts by type and by user. Past it the oldest requests (with their events) and the smallest counts are let
        /// go and counted. 256 MB by default.
        /// </summary>
        public long MaxRetainedBytes { get; set; } = DefaultMaxRetainedBytes;

        /// <summary>
        /// Host names (beyond <c>localhost</c>, <c>127.0.0.1</c>, <c>[::1]</c> and the host of <see cref="Url"/>) whose
        /// requests are answered; any other <c>Host</c> header gets 400 (a defence against DNS rebinding).
        /// </summary>
        public System.Collections.Generic.IList<string> AllowedHosts { get; } = new System.Collections.Generic.List<string>();

        /// <summary>The body size limit in force: <see cref="MaxRequestBytes"/>, or the default.</summary>
        internal long EffectiveMaxRequestBytes => MaxRequestBytes ?? DefaultMaxRequestBytes;

        /// <summary>Throws a clear exception naming the first value out of range.</summary>
        internal void Validate()
        {
            if (!Uri.TryCreate(Url, UriKind.Absolute, out var url) || url.Scheme != "http")
                throw new ArgumentException($"Url must be an absolute http:// URL such as http://127.0.0.1:0 (got '{Url}'; the emulator serves no TLS).", nameof(Url));
            if (RateLimitPerMinute is { } rate && rate < 1)
                throw new ArgumentOutOfRangeException(nameof(RateLimitPerMinute), rate, "The rate limit must be at least 1 request a minute (null: none).");
            if (MaxRequestBytes is { } max && max < 1024)
                throw new ArgumentOutOfRangeException(nameof(MaxRequestBytes), max, "The body size limit must be at least 1024 bytes.");
            if (MaxRecordedEvents < 1)
                throw new ArgumentOutOfRangeException(nameof(MaxRecordedEvents), MaxRecordedEvents, "At least 1 event must be kept.");
            if (MaxRetainedBytes < 1024 * 1024)
                throw new ArgumentOutOfRangeException(nameof(MaxRetainedBytes), MaxRetainedBytes, "The byte budget must be at least 1 MB.");
            if (string.IsNullOrEmpty(SiteUuid) || string.IsNullOrEmpty(PublishableKey) || string.IsNullOrEmpty(SecretKey))
                throw new ArgumentException("The site UUID and both keys must be set.");
        }

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
