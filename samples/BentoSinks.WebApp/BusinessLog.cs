using Microsoft.Extensions.Logging;

namespace BentoSinks.WebApp
{
    /// <summary>The app's business events on the logs path: the same templates through Serilog and OpenTelemetry.</summary>
    internal static partial class BusinessLog
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "{AnalyticsEvent}: plan {plan}, {seats} seats")]
        public static partial void SignupCompleted(this ILogger logger, string analyticsEvent, string plan, int seats);

        [LoggerMessage(Level = LogLevel.Information, Message = "{AnalyticsEvent}: order {@Purchase}")]
        public static partial void OrderPlaced(this ILogger logger, string analyticsEvent, BentoPurchase purchase);
    }
}
