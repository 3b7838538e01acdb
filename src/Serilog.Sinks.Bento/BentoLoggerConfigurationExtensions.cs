using System;
using System.Collections.Generic;
using System.Net.Http;
using BentoSinks;
using Serilog.Configuration;
using Serilog.Core;
using Serilog.Events;
using Serilog.Sinks.Bento;

namespace Serilog
{
    /// <summary>Adds <c>WriteTo.Bento(...)</c> to Serilog's <see cref="LoggerConfiguration"/>.</summary>
    public static class BentoLoggerConfigurationExtensions
    {
        /// <summary>
        /// Delivers log events tagged as analytics (property <c>AnalyticsEvent</c>) to Bento's batch events API. Every
        /// argument has a JSON form for Serilog.Settings.Configuration; the site UUID, keys and endpoint left out are read
        /// from <c>BENTO_SITE_UUID</c>, <c>BENTO_PUBLISHABLE_KEY</c>, <c>BENTO_SECRET_KEY</c> and <c>BENTO_ENDPOINT</c>.
        /// Invalid or missing settings throw an <see cref="ArgumentException"/> naming the argument (and its environment
        /// variable) when the logger is configured, never later.
        /// </summary>
        /// <param name="loggerSinkConfiguration">The sink configuration.</param>
        /// <param name="siteUuid">The Bento site UUID; <c>BENTO_SITE_UUID</c> when null.</param>
        /// <param name="publishableKey">The publishable key; <c>BENTO_PUBLISHABLE_KEY</c> when null.</param>
        /// <param name="secretKey">The secret key, kept on the server; <c>BENTO_SECRET_KEY</c> when null.</param>
        /// <param name="endpoint">The API base; <c>BENTO_ENDPOINT</c>, else <c>https://app.bentonow.com/api/v1</c>, when null.</param>
        /// <param name="restrictedToMinimumLevel">The minimum level of events passed to the sink.</param>
        /// <param name="batchSizeLimit">The most events in one request, 1 to 1,000.</param>
        /// <param name="period">How long a batch may wait to fill; 10 seconds when null.</param>
        /// <param name="queueLimit">The most events waiting in memory.</param>
        /// <param name="levelSwitch">A switch that changes the sink's minimum level at run time.</param>
        /// <param name="messageHandler">An HTTP handler to send through (a proxy, a test double).</param>
        /// <param name="insecureHttpHost">A non-loopback host allowed over plain <c>http://</c> (an emulator in a container); null: none.</param>
        /// <param name="maxRequestsPerMinute">The account's request budget in this process (default 20; 0 lifts it).</param>
        /// <param name="maxRequestBytes">The most bytes in one request body (default 4 MiB).</param>
        /// <param name="retryTimeLimit">How long a streak of transient failures is retried; 10 minutes when null.</param>
        /// <param name="requestTimeout">How long one request may take; 30 seconds when null.</param>
        /// <param name="shutdownTimeout">How long disposal may take to deliver what is queued; 30 seconds when null.</param>
        /// <param name="includedEventTypes">When not empty, only these event types are delivered.</param>
        /// <param name="excludedEventTypes">Event types never delivered; <c>$view</c> when null.</param>
        /// <param name="bufferDirectory">A directory of this instance's own where events are written ahead of delivery (survives crashes and outages); <c>BENTO_BUFFER_DIRECTORY</c>, else memory only, when null.</param>
        /// <param name="bufferSizeLimit">The most bytes the buffer directory holds (default 256 MiB); past it the oldest waiting events are dropped.</param>
        /// <param name="bufferAgeLimit">How long an event may wait in the buffer directory; 7 days when null.</param>
        /// <returns>The logger configuration, to chain calls.</returns>
        public static LoggerConfiguration Bento(
            this LoggerSinkConfiguration loggerSinkConfiguration,
            string? siteUuid = null,
            string? publishableKey = null,
            string? secretKey = null,
            string? endpoint = null,
            LogEventLevel restrictedToMinimumLevel = LevelAlias.Minimum,
            int batchSizeLimit = BentoOptions.MaxBatchSize,
            TimeSpan? period = null,
            int queueLimit = BentoOptions.DefaultQueueLimit,
            LoggingLevelSwitch? levelSwitch = null,
            HttpMessageHandler? messageHandler = null,
            string? insecureHttpHost = null,
            int maxRequestsPerMinute = BentoOptions.DefaultMaxRequestsPerMinute,
            int maxRequestBytes = BentoOptions.DefaultMaxRequestBytes,
            TimeSpan? retryTimeLimit = null,
            TimeSpan? requestTimeout = null,
            TimeSpan? shutdownTimeout = null,
            string[]? includedEventTypes = null,
            string[]? excludedEventTypes = null,
            string? bufferDirectory = null,
            long bufferSizeLimit = BentoOptions.DefaultBufferSizeLimit,
            TimeSpan? bufferAgeLimit = null)
        {
            if (loggerSinkConfiguration is null) throw new ArgumentNullException(nameof(loggerSinkConfiguration));
            if (BentoEndpointOverride.TryGet(out var overrideEndpoint, out var overrideSite, out var overridePublishable, out var overrideSecret))
            {
                // A test's BentoEndpointOverride beats the arguments (code or appsettings.json) and the environment.
                siteUuid = overrideSite;
                publishableKey = overridePublishable;
                secretKey = overrideSecret;
                endpoint = overrideEndpoint.AbsoluteUri;
            }
            siteUuid = Or(siteUuid, BentoEnvironment.SiteUuid);
            publishableKey = Or(publishableKey, BentoEnvironment.PublishableKey);
            secretKey = Or(secretKey, BentoEnvironment.SecretKey);
            endpoint = Or(endpoint, BentoEnvironment.Endpoint);
            // Each argument is checked by the option's own rule, named as the caller wrote it (siteUuid, batchSizeLimit, …).
            BentoOptions.CheckSiteUuid(siteUuid, nameof(siteUuid));
            BentoOptions.CheckPublishableKey(publishableKey, nameof(publishableKey));
            BentoOptions.CheckSecretKey(secretKey, nameof(secretKey));
            var uri = BentoOptions.DefaultEndpoint;
            if (!string.IsNullOrWhiteSpace(endpoint))
            {
                if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var parsed))
                    throw new ArgumentException("The Bento endpoint must be an absolute https:// URI (argument endpoint or BENTO_ENDPOINT).", nameof(endpoint));
                uri = BentoOptions.CheckEndpoint(parsed, nameof(endpoint), insecureHttpHost);
            }
            BentoOptions.CheckBatchSizeLimit(batchSizeLimit, nameof(batchSizeLimit));
            var batchPeriod = period ?? BentoOptions.DefaultPeriod;
            BentoOptions.CheckPeriod(batchPeriod, nameof(period));
            BentoOptions.CheckQueueLimit(queueLimit, nameof(queueLimit));
            var options = new BentoSinkOptions
            {
                SiteUuid = siteUuid,
                PublishableKey = publishableKey,
                SecretKey = secretKey,
                Endpoint = uri,
                InsecureHttpHost = insecureHttpHost,
                BatchSizeLimit = batchSizeLimit,
                Period = batchPeriod,
                QueueLimit = queueLimit,
                MessageHandler = messageHandler,
                MaxRequestsPerMinute = maxRequestsPerMinute,
                MaxRequestBytes = maxRequestBytes,
                BufferDirectory = bufferDirectory,
                BufferSizeLimit = bufferSizeLimit,
            };
            if (bufferAgeLimit is { } age) options.BufferAgeLimit = age;
            if (retryTimeLimit is { } retry) options.RetryTimeLimit = retry;
            if (requestTimeout is { } request) options.RequestTimeout = request;
            if (shutdownTimeout is { } shutdown) options.ShutdownTimeout = shutdown;
            if (includedEventTypes != null) options.IncludedEventTypes = new HashSet<string>(includedEventTypes, StringComparer.Ordinal);
            if (excludedEventTypes != null) options.ExcludedEventTypes = new HashSet<string>(excludedEventTypes, StringComparer.Ordinal);
            // The rest (budget, byte limit, timeouts) is checked by the options' own rules, named as the options call them.
            var sink = new BentoSink(options);
            return loggerSinkConfiguration.Sink(sink, restrictedToMinimumLevel, levelSwitch);
        }

        private static string? Or(string? value, string? fallback) => string.IsNullOrWhiteSpace(value) ? fallback : value;

        /// <summary>Delivers log events tagged as analytics to Bento, configured through <see cref="BentoSinkOptions"/>.</summary>
        /// <param name="loggerSinkConfiguration">The sink configuration.</param>
        /// <param name="configure">Sets the options; the site UUID and keys are required.</param>
        /// <param name="restrictedToMinimumLevel">The minimum level of events passed to the sink.</param>
        /// <param name="levelSwitch">A switch that changes the sink's minimum level at run time.</param>
        /// <returns>The logger configuration, to chain calls.</returns>
        public static LoggerConfiguration Bento(
            this LoggerSinkConfiguration loggerSinkConfiguration,
            Action<BentoSinkOptions> configure,
            LogEventLevel restrictedToMinimumLevel = LevelAlias.Minimum,
            LoggingLevelSwitch? levelSwitch = null)
        {
            if (loggerSinkConfiguration is null) throw new ArgumentNullException(nameof(loggerSinkConfiguration));
            if (configure is null) throw new ArgumentNullException(nameof(configure));
            var options = new BentoSinkOptions();
            configure(options);
            return loggerSinkConfiguration.Sink(new BentoSink(options), restrictedToMinimumLevel, levelSwitch);
        }
    }

    /// <summary>Helpers to tag log events as analytics events for Bento.</summary>
    public static class BentoLoggerExtensions
    {
        /// <summary>
        /// Returns a logger whose events are Bento analytics events of type <paramref name="eventType"/>: it adds the
        /// property <c>AnalyticsEvent</c> (<see cref="BentoSinkOptions.DefaultAnalyticsEventPropertyName"/>). Identity
        /// (email, names) comes from enrichers and log context. A sink configured with another
        /// <see cref="BentoSinkOptions.AnalyticsEventPropertyName"/> ignores these events: use
        /// <see cref="ForAnalytics(ILogger, string, string)"/> with that name.
        /// </summary>
        /// <param name="logger">The logger.</param>
        /// <param name="eventType">The Bento event type, e.g. <c>signup_completed</c> or <c>$purchase</c>.</param>
        /// <returns>A contextual logger.</returns>
        public static ILogger ForAnalytics(this ILogger logger, string eventType)
            => ForAnalytics(logger, eventType, BentoSinkOptions.DefaultAnalyticsEventPropertyName);

        /// <summary>
        /// Returns a logger whose events are Bento analytics events of type <paramref name="eventType"/> for a sink whose
        /// <see cref="BentoSinkOptions.AnalyticsEventPropertyName"/> is <paramref name="analyticsEventPropertyName"/>.
        /// </summary>
        /// <param name="logger">The logger.</param>
        /// <param name="eventType">The Bento event type, e.g. <c>signup_completed</c> or <c>$purchase</c>.</param>
        /// <param name="analyticsEventPropertyName">The marker property the sink is configured with.</param>
        /// <returns>A contextual logger.</returns>
        public static ILogger ForAnalytics(this ILogger logger, string eventType, string analyticsEventPropertyName)
        {
            if (logger is null) throw new ArgumentNullException(nameof(logger));
            if (string.IsNullOrWhiteSpace(eventType)) throw new ArgumentException("The event type must not be blank.", nameof(eventType));
            if (string.IsNullOrWhiteSpace(analyticsEventPropertyName)) throw new ArgumentException("The analytics event property name must not be blank.", nameof(analyticsEventPropertyName));
            return logger.ForContext(analyticsEventPropertyName, eventType);
        }

        /// <summary>
        /// Returns a logger whose events are Bento <c>$purchase</c> events carrying <paramref name="purchase"/>,
        /// destructured as the sink expects (a plain <c>{Purchase}</c> in a template would be stringified).
        /// </summary>
        /// <param name="logger">The logger.</param>
        /// <param name="purchase">The purchase: its key deduplicates it, its amount is in minor units.</param>
        /// <returns>A contextual logger.</returns>
        public static ILogger ForPurchase(this ILogger logger, BentoPurchase purchase)
            => ForPurchase(logger, purchase, BentoSinkOptions.DefaultAnalyticsEventPropertyName);

        /// <summary>
        /// Returns a logger whose events are Bento <c>$purchase</c> events carrying <paramref name="purchase"/>, for a sink
        /// whose <see cref="BentoSinkOptions.AnalyticsEventPropertyName"/> is <paramref name="analyticsEventPropertyName"/>.
        /// </summary>
        /// <param name="logger">The logger.</param>
        /// <param name="purchase">The purchase: its key deduplicates it, its amount is in minor units.</param>
        /// <param name="analyticsEventPropertyName">The marker property the sink is configured with.</param>
        /// <returns>A contextual logger.</returns>
        public static ILogger ForPurchase(this ILogger logger, BentoPurchase purchase, string analyticsEventPropertyName)
        {
            if (purchase is null) throw new ArgumentNullException(nameof(purchase));
            // Built without reflection (PurchaseEnricher), so it also works in a Native AOT app.
            return logger.ForAnalytics("$purchase", analyticsEventPropertyName).ForContext(new PurchaseEnricher(purchase));
        }
    }
}
