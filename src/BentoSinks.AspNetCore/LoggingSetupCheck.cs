using System;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace BentoSinks.AspNetCore
{
    /// <summary>
    /// At startup, the one combination of Serilog and OpenTelemetry that cannot deliver: the OpenTelemetry logs exporter
    /// registered while Serilog is the logging factory without <c>writeToProviders</c> (<c>AddSerilog()</c>,
    /// <c>UseSerilog()</c>). Serilog then never hands <c>ILogger</c> records to OpenTelemetry, and the exporter receives
    /// nothing. (The opposite, <c>writeToProviders: true</c> with a Serilog Bento sink, is handled: the exporter skips
    /// what Serilog forwards, so each event arrives once.)
    /// </summary>
    internal static class LoggingSetupCheck
    {
        private const string SerilogFactoryTypeName = "Serilog.Extensions.Logging.SerilogLoggerFactory";

        /// <summary>The warning for a setup that cannot deliver, or null when there is nothing to say.</summary>
        public static string? Problem(IServiceProvider services)
        {
            if (services.GetService<LogsExporterMarker>() is null) return null;
            var factory = services.GetService<ILoggerFactory>();
            if (factory is null || factory.GetType().FullName != SerilogFactoryTypeName) return null;
            // Serilog.Extensions.Logging keeps the providers it forwards to in this field; null: writeToProviders is off.
            var field = factory.GetType().GetField("_providerCollection", BindingFlags.Instance | BindingFlags.NonPublic);
            if (field is null || field.GetValue(factory) != null) return null;
            return "Bento: the OpenTelemetry logs exporter (WithLogging(l => l.AddBentoExporter())) will receive nothing: Serilog is "
                + "the logging factory (AddSerilog/UseSerilog) and does not forward ILogger records to OpenTelemetry. Either deliver "
                + "logs with Serilog's WriteTo.Bento(...) and remove the logs exporter, or call AddSerilog(..., writeToProviders: true).";
        }

        /// <summary>Logs <see cref="Problem"/> as a warning, when there is one.</summary>
        public static void Run(IServiceProvider services)
        {
            var problem = Problem(services);
            if (problem is null) return;
            var logger = services.GetService<ILoggerFactory>()?.CreateLogger("BentoSinks.AspNetCore");
#pragma warning disable CA1848, CA2254 // one warning at startup; the text is constant
            logger?.LogWarning(problem);
#pragma warning restore CA1848, CA2254
        }
    }
}
