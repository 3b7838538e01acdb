using System;
using OpenTelemetry.Exporter.Bento;

namespace Microsoft.Extensions.Logging
{
    /// <summary>
    /// Marks <see cref="ILogger"/> records as Bento business events without putting the event type in the message, as
    /// Serilog's <c>ForAnalytics</c> does for Serilog.
    /// </summary>
    public static class BentoEventLoggerExtensions
    {
        /// <summary>
        /// Opens a scope in which every log record written through any <see cref="ILogger"/> on this async flow is a
        /// Bento event of type <paramref name="eventType"/>: its attributes become the event's details, its message stays
        /// as written. Wrap the one call that records the business event (a <c>[LoggerMessage]</c> method or a
        /// <c>LogInformation</c>), not a whole unit of work: other records written inside the scope would become events too.
        /// Works with the OpenTelemetry log exporter whether or not <c>IncludeScopes</c> is on, and with a Serilog-backed
        /// <see cref="ILogger"/> (the scope carries the property <c>AnalyticsEvent</c>, which the Serilog sink reads).
        /// </summary>
        /// <param name="logger">The logger the event is written through.</param>
        /// <param name="eventType">The Bento event type, e.g. <c>signup_completed</c> or <c>$purchase</c>.</param>
        /// <returns>The scope; dispose it when the event has been written.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="logger"/> is null.</exception>
        /// <exception cref="ArgumentException"><paramref name="eventType"/> is null or blank.</exception>
        public static IDisposable BeginBentoEvent(this ILogger logger, string eventType)
        {
            if (logger is null) throw new ArgumentNullException(nameof(logger));
            if (string.IsNullOrWhiteSpace(eventType)) throw new ArgumentException("The Bento event type must not be blank.", nameof(eventType));
            return BentoEventScope.Begin(logger, eventType);
        }
    }
}
