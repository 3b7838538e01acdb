using System;
using System.Collections.Generic;
using System.Net.Http;

namespace BentoSinks
{
    /// <summary>An immutable, validated copy of <see cref="BentoOptions"/>, taken when a pipeline is built.</summary>
    internal sealed class PipelineSettings
    {
        public PipelineSettings(BentoOptions options, Uri endpoint)
        {
            SiteUuid = options.SiteUuid!.Trim();
            PublishableKey = options.PublishableKey!.Trim();
            SecretKey = options.SecretKey!.Trim();
            var basePath = endpoint.AbsoluteUri.TrimEnd('/');
            if (!string.IsNullOrEmpty(endpoint.Query)) basePath = endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/');
            RequestUri = new Uri(basePath + "/batch/events?site_uuid=" + Uri.EscapeDataString(SiteUuid));
            BatchSizeLimit = options.BatchSizeLimit;
            Period = options.Period;
            MaxRequestsPerMinute = options.MaxRequestsPerMinute;
            QueueLimit = options.QueueLimit;
            MaxRequestBytes = options.MaxRequestBytes;
            RetryTimeLimit = options.RetryTimeLimit;
            RequestTimeout = options.RequestTimeout;
            ShutdownTimeout = options.ShutdownTimeout;
            MessageHandler = options.MessageHandler;
            TimeProvider = options.TimeProvider;
            Included = options.IncludedEventTypes is { Count: > 0 } inc ? new HashSet<string>(inc, StringComparer.Ordinal) : null;
            Excluded = options.ExcludedEventTypes is { Count: > 0 } exc ? new HashSet<string>(exc, StringComparer.Ordinal) : null;
        }

        public string SiteUuid { get; }
        public string PublishableKey { get; }
        public string SecretKey { get; }
        public Uri RequestUri { get; }
        public int BatchSizeLimit { get; }
        public TimeSpan Period { get; }
        public int MaxRequestsPerMinute { get; }
        public int QueueLimit { get; }
        public int MaxRequestBytes { get; }
        public TimeSpan RetryTimeLimit { get; }
        public TimeSpan RequestTimeout { get; }
        public TimeSpan ShutdownTimeout { get; }
        public HttpMessageHandler? MessageHandler { get; }
        public TimeProvider TimeProvider { get; }
        private HashSet<string>? Included { get; }
        private HashSet<string>? Excluded { get; }

        /// <summary>How long drop warnings of one reason are gathered before the next line is written.</summary>
        public TimeSpan WarningInterval { get; set; } = TimeSpan.FromSeconds(10);

        /// <summary>Opens a scope around the pipeline's own HTTP calls (the OpenTelemetry exporter suppresses instrumentation there).</summary>
        public Func<IDisposable?>? SendScope { get; set; }

        /// <summary>Whether an event of this type is routed to Bento (included and not excluded).</summary>
        public bool IsRouted(string type)
            => (Included is null || Included.Contains(type)) && (Excluded is null || !Excluded.Contains(type));
    }
}
