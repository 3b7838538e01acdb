using System;
using System.Net.Http;
using Serilog.Configuration;
using Serilog.Core;
using Serilog.Events;
using Serilog.Sinks.Bento;

namespace Serilog
{
    /// <summary>Adds <c>WriteTo.Bento(...)</c> to Serilog's <see cref="LoggerConfiguration"/>.</summary>
    public static class BentoLoggerConfigurationExtensions
    {
        private static readonly string[] ParameterSuffix = { " (Parameter" };

        /// <summary>
        /// Delivers log events tagged as analytics (property <c>AnalyticsEvent</c>) to Bento's batch events API.
        /// Invalid settings throw an <see cref="ArgumentException"/> naming the argument when the logger is configured.
        /// </summary>
        /// <param name="loggerSinkConfiguration">The sink configuration.</param>
        /// <param name="siteUuid">The Bento site UUID.</param>
        /// <param name="publishableKey">The publishable key.</param>
        /// <param name="secretKey">The secret key. Keep it on the server.</param>
        /// <param name="endpoint">The API base; <c>https://app.bentonow.com/api/v1</c> when null.</param>
        /// <param name="restrictedToMinimumLevel">The minimum level of events passed to the sink.</param>
        /// <param name="batchSizeLimit">The most events in one request, 1 to 1,000.</param>
        /// <param name="period">How long a batch may wait to fill; 10 seconds when null.</param>
        /// <param name="queueLimit">The most events waiting in memory.</param>
        /// <param name="levelSwitch">A switch that changes the sink's minimum level at run time.</param>
        /// <param name="messageHandler">An HTTP handler to send through (a proxy, a test double).</param>
        /// <returns>The logger configuration, to chain calls.</returns>
        public static LoggerConfiguration Bento(
            this LoggerSinkConfiguration loggerSinkConfiguration,
            string siteUuid,
            string publishableKey,
            string secretKey,
            string? endpoint = null,
            LogEventLevel restrictedToMinimumLevel = LevelAlias.Minimum,
            int batchSizeLimit = BentoSinks.BentoOptions.MaxBatchSize,
            TimeSpan? period = null,
            int queueLimit = BentoSinks.BentoOptions.DefaultQueueLimit,
            LoggingLevelSwitch? levelSwitch = null,
            HttpMessageHandler? messageHandler = null)
        {
            if (loggerSinkConfiguration is null) throw new ArgumentNullException(nameof(loggerSinkConfiguration));
            var options = new BentoSinkOptions
            {
                SiteUuid = siteUuid,
                PublishableKey = publishableKey,
                SecretKey = secretKey,
                BatchSizeLimit = batchSizeLimit,
                Period = period ?? BentoSinks.BentoOptions.DefaultPeriod,
                QueueLimit = queueLimit,
                MessageHandler = messageHandler,
            };
            if (!string.IsNullOrWhiteSpace(endpoint))
            {
                if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
                    throw new ArgumentException("The Bento endpoint must be an absolute https:// URI.", nameof(endpoint));
                options.Endpoint = uri;
            }
            BentoSink sink;
            try
            {
                sink = new BentoSink(options);
            }
            catch (ArgumentException ex) when (ex.ParamName is { Length: > 0 } name)
            {
                // Name the argument as the caller wrote it (siteUuid, batchSizeLimit, …).
                throw new ArgumentException(ex.Message.Split(ParameterSuffix, StringSplitOptions.None)[0], char.ToLowerInvariant(name[0]) + name.Substring(1), ex);
            }
            return loggerSinkConfiguration.Sink(sink, restrictedToMinimumLevel, levelSwitch);
        }

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
        /// Returns a logger whose events are Bento analytics events of type <paramref name="eventType"/> (it adds the
        /// property <c>AnalyticsEvent</c>). Identity (email, names) comes from enrichers and log context.
        /// </summary>
        /// <param name="logger">The logger.</param>
        /// <param name="eventType">The Bento event type, e.g. <c>signup_completed</c> or <c>$purchase</c>.</param>
        /// <returns>A contextual logger.</returns>
        public static ILogger ForAnalytics(this ILogger logger, string eventType)
        {
            if (logger is null) throw new ArgumentNullException(nameof(logger));
            if (string.IsNullOrWhiteSpace(eventType)) throw new ArgumentException("The event type must not be blank.", nameof(eventType));
            return logger.ForContext(BentoSinkOptions.DefaultAnalyticsEventPropertyName, eventType);
        }

        /// <summary>
        /// Returns a logger whose events are Bento <c>$purchase</c> events carrying <paramref name="purchase"/>,
        /// destructured as the sink expects (a plain <c>{Purchase}</c> in a template would be stringified).
        /// </summary>
        /// <param name="logger">The logger.</param>
        /// <param name="purchase">The purchase: its key deduplicates it, its amount is in minor units.</param>
        /// <returns>A contextual logger.</returns>
        public static ILogger ForPurchase(this ILogger logger, BentoSinks.BentoPurchase purchase)
        {
            if (purchase is null) throw new ArgumentNullException(nameof(purchase));
            return logger.ForAnalytics("$purchase").ForContext("Purchase", purchase, destructureObjects: true);
        }
    }
}
