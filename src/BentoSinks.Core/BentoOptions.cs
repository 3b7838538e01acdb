using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Text;

namespace BentoSinks
{
    /// <summary>
    /// Settings shared by every BentoSinks front end: where and how events are delivered to Bento's
    /// batch events API. The Serilog sink and the OpenTelemetry exporter derive their own options from it.
    /// </summary>
    /// <remarks>
    /// Options are validated when the sink or exporter is built; an invalid value throws an
    /// <see cref="ArgumentException"/> whose <see cref="ArgumentException.ParamName"/> names the option.
    /// <see cref="ToString"/> never shows the secret key.
    /// </remarks>
    public class BentoOptions
    {
        /// <summary>The API base used when <see cref="Endpoint"/> is not set: <c>https://app.bentonow.com/api/v1</c>.</summary>
        public static readonly Uri DefaultEndpoint = new Uri("https://app.bentonow.com/api/v1");

        /// <summary>The default <see cref="Period"/>: 10 seconds.</summary>
        public static readonly TimeSpan DefaultPeriod = TimeSpan.FromSeconds(10);

        /// <summary>The default <see cref="MaxRequestsPerMinute"/>: 20, a fifth of Bento's account-wide 100.</summary>
        public const int DefaultMaxRequestsPerMinute = 20;

        /// <summary>The largest <see cref="BatchSizeLimit"/> Bento accepts: 1,000 events a request.</summary>
        public const int MaxBatchSize = 1000;

        /// <summary>The default <see cref="QueueLimit"/>: 100,000 events.</summary>
        public const int DefaultQueueLimit = 100_000;

        /// <summary>The default <see cref="MaxRequestBytes"/>: 4 MiB (Bento documents no limit).</summary>
        public const int DefaultMaxRequestBytes = 4 * 1024 * 1024;

        /// <summary>The longest <see cref="Period"/>, <see cref="RequestTimeout"/> and <see cref="ShutdownTimeout"/>: 1 day.</summary>
        public static readonly TimeSpan MaxTimeSpan = TimeSpan.FromDays(1);

        /// <summary>The longest <see cref="RetryTimeLimit"/>: 7 days.</summary>
        public static readonly TimeSpan MaxRetryTimeLimit = TimeSpan.FromDays(7);

        /// <summary>The default <see cref="BufferSizeLimit"/>: 256 MiB.</summary>
        public const long DefaultBufferSizeLimit = 256L * 1024 * 1024;

        /// <summary>The default <see cref="BufferAgeLimit"/>: 7 days.</summary>
        public static readonly TimeSpan DefaultBufferAgeLimit = TimeSpan.FromDays(7);

        /// <summary>The Bento site UUID the events belong to. Required.</summary>
        public string? SiteUuid { get; set; }

        /// <summary>The publishable key of the Bento API key pair. Required.</summary>
        public string? PublishableKey { get; set; }

        /// <summary>The secret key of the Bento API key pair. Required; never shown by <see cref="ToString"/>.</summary>
        public string? SecretKey { get; set; }

        /// <summary>
        /// The API base; requests go to <c>{Endpoint}/batch/events</c>. Defaults to <see cref="DefaultEndpoint"/>.
        /// Plain <c>http://</c> is accepted only for loopback hosts (an emulator on 127.0.0.1).
        /// </summary>
        public Uri? Endpoint { get; set; } = DefaultEndpoint;

        /// <summary>
        /// A host to which plain <c>http://</c> is allowed although it is not loopback, such as an emulator in a container
        /// (<c>bento-emulator</c> in docker compose). Null by default: only loopback hosts may use <c>http://</c>. The
        /// credentials travel in every request, so never name a host reached over a network you do not control.
        /// </summary>
        public string? InsecureHttpHost { get; set; }

        /// <summary>The most events in one request, 1 to 1,000. Defaults to 1,000: full batches save Bento's shared request budget.</summary>
        public int BatchSizeLimit { get; set; } = MaxBatchSize;

        /// <summary>How long a batch may wait to fill after its first event. Defaults to 10 seconds.</summary>
        public TimeSpan Period { get; set; } = DefaultPeriod;

        /// <summary>
        /// The client-side request budget of this pipeline, in requests a minute (default 20). Bento allows an account
        /// 100 batch requests a minute across all its senders; while the budget is spent, events keep filling the next
        /// batch. <c>0</c> lifts the budget (429 responses are still honoured).
        /// </summary>
        public int MaxRequestsPerMinute { get; set; } = DefaultMaxRequestsPerMinute;

        /// <summary>The most events waiting in memory (default 100,000). Past it new events are dropped and counted as <c>queue_full</c>.</summary>
        public int QueueLimit { get; set; } = DefaultQueueLimit;

        /// <summary>The most bytes in one request body (default 4 MiB). An event too large on its own is dropped and counted as <c>too_large</c>.</summary>
        public int MaxRequestBytes { get; set; } = DefaultMaxRequestBytes;

        /// <summary>How long a batch is retried on 429, 5xx and network failures before it is dropped as <c>retries_exhausted</c>. Defaults to 10 minutes.</summary>
        public TimeSpan RetryTimeLimit { get; set; } = TimeSpan.FromMinutes(10);

        /// <summary>How long one HTTP request may take (default 30 seconds); a request past it is cancelled and retried.</summary>
        public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>How long disposal may take to deliver what is queued (default 30 seconds); what is left is counted as <c>shutdown</c>.</summary>
        public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>An HTTP handler to send requests through (a proxy, a test double). It is not disposed by the pipeline. When null a pooled <c>SocketsHttpHandler</c> is used.</summary>
        public HttpMessageHandler? MessageHandler { get; set; }

        /// <summary>When not empty, only these event types are delivered.</summary>
        public ICollection<string> IncludedEventTypes { get; set; } = new HashSet<string>(StringComparer.Ordinal);

        /// <summary>Event types never delivered. Defaults to <c>$view</c> (page views), which Bento cannot use without an identified user.</summary>
        public ICollection<string> ExcludedEventTypes { get; set; } = new HashSet<string>(StringComparer.Ordinal) { "$view" };

        /// <summary>The clock of the pipeline's periods, budget and retries. Defaults to <see cref="TimeProvider.System"/>; tests pass a fake one.</summary>
        public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

        /// <summary>
        /// A directory of this instance's own where events are written ahead of delivery, so that they survive a crash, a
        /// deploy during an outage and an outage of any length. Null by default: events wait in memory only. Each event
        /// reaches the OS within 200 ms of being logged and the disk within about a second (fsync); the read position moves
        /// on only once Bento has accepted a batch, and a new process on the directory first sends what the last one left.
        /// Only one process may use a directory: a second one gets an <see cref="InvalidOperationException"/> when it is
        /// built. The directory and its files are private to their owner (0700/0600 on Unix).
        /// </summary>
        public string? BufferDirectory { get; set; }

        /// <summary>The most bytes the buffer directory holds (default 256 MiB, at least 64 KiB); past it the oldest events are dropped as <c>buffer_full</c>.</summary>
        public long BufferSizeLimit { get; set; } = DefaultBufferSizeLimit;

        /// <summary>How long an event may wait in the buffer directory (default 7 days, at most 365); older events are dropped as <c>expired</c>.</summary>
        public TimeSpan BufferAgeLimit { get; set; } = DefaultBufferAgeLimit;

        /// <summary>Tests: the durable buffer's I/O seam, to inject failures.</summary>
        internal Durable.BufferFileSystem? BufferFileSystem { get; set; }

        /// <summary>Copies every option of this instance to <paramref name="target"/>.</summary>
        /// <param name="target">The options to overwrite.</param>
        protected void CopyTo(BentoOptions target)
        {
            if (target is null) throw new ArgumentNullException(nameof(target));
            target.SiteUuid = SiteUuid;
            target.PublishableKey = PublishableKey;
            target.SecretKey = SecretKey;
            target.Endpoint = Endpoint;
            target.InsecureHttpHost = InsecureHttpHost;
            target.BatchSizeLimit = BatchSizeLimit;
            target.Period = Period;
            target.MaxRequestsPerMinute = MaxRequestsPerMinute;
            target.QueueLimit = QueueLimit;
            target.MaxRequestBytes = MaxRequestBytes;
            target.RetryTimeLimit = RetryTimeLimit;
            target.RequestTimeout = RequestTimeout;
            target.ShutdownTimeout = ShutdownTimeout;
            target.MessageHandler = MessageHandler;
            target.IncludedEventTypes = new HashSet<string>(IncludedEventTypes ?? Array.Empty<string>(), StringComparer.Ordinal);
            target.ExcludedEventTypes = new HashSet<string>(ExcludedEventTypes ?? Array.Empty<string>(), StringComparer.Ordinal);
            target.TimeProvider = TimeProvider;
            target.BufferDirectory = BufferDirectory;
            target.BufferSizeLimit = BufferSizeLimit;
            target.BufferAgeLimit = BufferAgeLimit;
            target.BufferFileSystem = BufferFileSystem;
        }

        /// <summary>Describes the options without the secret key.</summary>
        /// <returns>A description safe for logs.</returns>
        public override string ToString()
        {
            var sb = new StringBuilder(GetType().Name).Append(" { ");
            sb.Append("SiteUuid = ").Append(SiteUuid ?? "(null)");
            sb.Append(", PublishableKey = ").Append(PublishableKey ?? "(null)");
            sb.Append(", SecretKey = ").Append(string.IsNullOrEmpty(SecretKey) ? "(not set)" : "***");
            sb.Append(", Endpoint = ").Append(Endpoint?.GetLeftPart(UriPartial.Path) ?? "(null)");
            sb.Append(", BatchSizeLimit = ").Append(BatchSizeLimit);
            sb.Append(", Period = ").Append(Period);
            sb.Append(", MaxRequestsPerMinute = ").Append(MaxRequestsPerMinute);
            sb.Append(", QueueLimit = ").Append(QueueLimit);
            if (BufferDirectory != null) sb.Append(", BufferDirectory = ").Append(BufferDirectory);
            sb.Append(" }");
            return sb.ToString();
        }

        internal PipelineSettings Validate()
        {
            BentoEndpointOverride.Apply(this); // a test's override beats code, configuration and environment
            CheckSiteUuid(SiteUuid, nameof(SiteUuid));
            CheckPublishableKey(PublishableKey, nameof(PublishableKey));
            CheckSecretKey(SecretKey, nameof(SecretKey));
            var endpoint = CheckEndpoint(Endpoint, nameof(Endpoint), InsecureHttpHost);
            CheckBatchSizeLimit(BatchSizeLimit, nameof(BatchSizeLimit));
            CheckPeriod(Period, nameof(Period));
            if (MaxRequestsPerMinute < 0)
                throw new ArgumentException("The request budget must be 0 (no budget) or positive.", nameof(MaxRequestsPerMinute));
            CheckQueueLimit(QueueLimit, nameof(QueueLimit));
            if (MaxRequestBytes < 1024)
                throw new ArgumentException("The request byte limit must be at least 1024.", nameof(MaxRequestBytes));
            if (RetryTimeLimit < TimeSpan.Zero || RetryTimeLimit > MaxRetryTimeLimit)
                throw new ArgumentException($"The retry time limit must be between 0 and {MaxRetryTimeLimit.TotalDays:0} days; it was {RetryTimeLimit}.", nameof(RetryTimeLimit));
            if (RequestTimeout <= TimeSpan.Zero || RequestTimeout > MaxTimeSpan)
                throw new ArgumentException($"The request timeout must be positive and at most {MaxTimeSpan.TotalDays:0} day; it was {RequestTimeout}.", nameof(RequestTimeout));
            if (ShutdownTimeout < TimeSpan.Zero || ShutdownTimeout > MaxTimeSpan)
                throw new ArgumentException($"The shutdown timeout must be between 0 and {MaxTimeSpan.TotalDays:0} day; it was {ShutdownTimeout}.", nameof(ShutdownTimeout));
            if (TimeProvider is null)
                throw new ArgumentException("The time provider must not be null.", nameof(TimeProvider));
            if (BufferSizeLimit < 64 * 1024)
                throw new ArgumentException("The buffer size limit must be at least 64 KiB.", nameof(BufferSizeLimit));
            if (BufferAgeLimit <= TimeSpan.Zero || BufferAgeLimit > TimeSpan.FromDays(365))
                throw new ArgumentException($"The buffer age limit must be positive and at most 365 days; it was {BufferAgeLimit}.", nameof(BufferAgeLimit));
            if (BufferDirectory != null)
            {
                if (string.IsNullOrWhiteSpace(BufferDirectory))
                    throw new ArgumentException("The buffer directory must not be blank (null: memory only).", nameof(BufferDirectory));
                try { System.IO.Path.GetFullPath(BufferDirectory.Trim()); }
                catch (Exception ex) when (ex is ArgumentException || ex is NotSupportedException || ex is System.IO.PathTooLongException)
                {
                    throw new ArgumentException("The buffer directory is not a valid path.", nameof(BufferDirectory), ex);
                }
            }
            return new PipelineSettings(this, endpoint);
        }

        // The rules of the options a front end may also take as arguments (WriteTo.Bento(siteUuid, …)): one rule each,
        // named after whatever the caller wrote.

        internal static void CheckSiteUuid(string? value, string paramName)
        {
            if (string.IsNullOrWhiteSpace(value))
                throw new ArgumentException("A Bento site UUID is required (System > API Keys in Bento): set SiteUuid (siteUuid in WriteTo.Bento or appsettings.json) or the BENTO_SITE_UUID environment variable.", paramName);
        }

        internal static void CheckPublishableKey(string? value, string paramName)
        {
            if (string.IsNullOrWhiteSpace(value))
                throw new ArgumentException("A Bento publishable key is required: set PublishableKey (publishableKey in WriteTo.Bento or appsettings.json) or the BENTO_PUBLISHABLE_KEY environment variable.", paramName);
        }

        internal static void CheckSecretKey(string? value, string paramName)
        {
            if (string.IsNullOrWhiteSpace(value))
                throw new ArgumentException("A Bento secret key is required: set SecretKey (secretKey in WriteTo.Bento or appsettings.json) or the BENTO_SECRET_KEY environment variable.", paramName);
        }

        internal static Uri CheckEndpoint(Uri? endpoint, string paramName, string? insecureHttpHost = null)
        {
            if (endpoint is null)
                throw new ArgumentException("The Bento endpoint must not be null.", paramName);
            if (!endpoint.IsAbsoluteUri)
                throw new ArgumentException("The Bento endpoint must be an absolute URI.", paramName);
            if (endpoint.Scheme == Uri.UriSchemeHttp)
            {
                var allowed = endpoint.IsLoopback ||
                              (!string.IsNullOrWhiteSpace(insecureHttpHost) && string.Equals(endpoint.Host, insecureHttpHost!.Trim(), StringComparison.OrdinalIgnoreCase));
                if (!allowed)
                    throw new ArgumentException("The Bento endpoint must use https:// unless its host is loopback (127.0.0.1, ::1, localhost) or named by InsecureHttpHost (an emulator in a container): the credentials travel in every request.", paramName);
            }
            else if (endpoint.Scheme != Uri.UriSchemeHttps)
            {
                throw new ArgumentException("The Bento endpoint must be an https:// URI.", paramName);
            }
            return endpoint;
        }

        internal static void CheckBatchSizeLimit(int value, string paramName)
        {
            if (value < 1 || value > MaxBatchSize)
                throw new ArgumentException($"The batch size limit must be between 1 and {MaxBatchSize} (Bento accepts at most {MaxBatchSize} events a request); it was {value}.", paramName);
        }

        internal static void CheckPeriod(TimeSpan value, string paramName)
        {
            if (value <= TimeSpan.Zero || value > MaxTimeSpan)
                throw new ArgumentException($"The period must be positive and at most {MaxTimeSpan.TotalDays:0} day; it was {value}.", paramName);
        }

        internal static void CheckQueueLimit(int value, string paramName)
        {
            if (value < 1)
                throw new ArgumentException("The queue limit must be positive.", paramName);
        }
    }
}
