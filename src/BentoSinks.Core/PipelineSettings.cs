using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Reflection;

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
            BufferDirectory = string.IsNullOrWhiteSpace(options.BufferDirectory) ? null : System.IO.Path.GetFullPath(options.BufferDirectory!.Trim());
            BufferSizeLimit = options.BufferSizeLimit;
            BufferAgeLimit = options.BufferAgeLimit;
            BufferFileSystem = options.BufferFileSystem;
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
        /// <summary>The durable buffer's directory, as a full path; null: memory only.</summary>
        public string? BufferDirectory { get; }
        public long BufferSizeLimit { get; }
        public TimeSpan BufferAgeLimit { get; }
        /// <summary>Tests: the I/O seam of the durable buffer (null: the real file system).</summary>
        public Durable.BufferFileSystem? BufferFileSystem { get; }
        private HashSet<string>? Included { get; }
        private HashSet<string>? Excluded { get; }

        /// <summary>How long drop warnings of one reason are gathered before the next line is written.</summary>
        public TimeSpan WarningInterval { get; set; } = TimeSpan.FromSeconds(10);

        /// <summary>
        /// Opens a scope around the pipeline's own HTTP calls. By default it suppresses OpenTelemetry's instrumentation
        /// when the app has the OpenTelemetry SDK (so the Serilog sink's POSTs are not traced as the app's requests);
        /// the OpenTelemetry exporter sets its own.
        /// </summary>
        public Func<IDisposable?>? SendScope { get; set; } = SuppressOpenTelemetryInstrumentation;

        /// <summary>
        /// <c>OpenTelemetry.SuppressInstrumentationScope.Begin(true)</c> when the <c>OpenTelemetry</c> assembly is there,
        /// found once by reflection and bound to a delegate (each send costs one delegate call); otherwise null.
        /// </summary>
        internal static readonly Func<IDisposable?>? SuppressOpenTelemetryInstrumentation = CreateSuppressOpenTelemetryInstrumentation();

        private static Func<IDisposable?>? CreateSuppressOpenTelemetryInstrumentation()
        {
            try
            {
                var type = Type.GetType("OpenTelemetry.SuppressInstrumentationScope, OpenTelemetry", throwOnError: false);
                var begin = type?.GetMethod("Begin", BindingFlags.Public | BindingFlags.Static, null, new[] { typeof(bool) }, null);
                if (begin is null || !typeof(IDisposable).IsAssignableFrom(begin.ReturnType)) return null;
                var open = (Func<bool, IDisposable>)begin.CreateDelegate(typeof(Func<bool, IDisposable>));
                return () => open(true);
            }
            catch (Exception)
            {
                // An OpenTelemetry assembly that cannot be loaded or bound: the calls go unsuppressed, as without it.
                return null;
            }
        }

        /// <summary>Whether an event of this type is routed to Bento (included and not excluded).</summary>
        public bool IsRouted(string type)
            => (Included is null || Included.Contains(type)) && (Excluded is null || !Excluded.Contains(type));
    }
}
