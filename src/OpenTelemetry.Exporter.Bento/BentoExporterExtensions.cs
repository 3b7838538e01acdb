using System;
using BentoSinks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Exporter;
using OpenTelemetry.Exporter.Bento;

namespace OpenTelemetry.Trace
{
    /// <summary>Adds the Bento exporter to a <see cref="TracerProviderBuilder"/>.</summary>
    public static class BentoExporterTracerProviderBuilderExtensions
    {
        /// <summary>Delivers activity events tagged <c>analytics.event=true</c> to Bento, with default named options.</summary>
        /// <param name="builder">The tracer provider builder.</param>
        /// <returns>The builder, to chain calls.</returns>
        public static TracerProviderBuilder AddBentoExporter(this TracerProviderBuilder builder)
            => AddBentoExporter(builder, name: null, configure: null);

        /// <summary>Delivers activity events tagged as analytics to Bento.</summary>
        /// <param name="builder">The tracer provider builder.</param>
        /// <param name="configure">Sets the options (applied after configuration and environment variables).</param>
        /// <returns>The builder, to chain calls.</returns>
        public static TracerProviderBuilder AddBentoExporter(this TracerProviderBuilder builder, Action<BentoExporterOptions> configure)
            => AddBentoExporter(builder, name: null, configure);

        /// <summary>Delivers activity events tagged as analytics to Bento, with named options.</summary>
        /// <param name="builder">The tracer provider builder.</param>
        /// <param name="name">The options name; null for options of this exporter alone, built from the default options' configuration and then <paramref name="configure"/>.</param>
        /// <param name="configure">Sets the options, or null.</param>
        /// <returns>The builder, to chain calls.</returns>
        public static TracerProviderBuilder AddBentoExporter(this TracerProviderBuilder builder, string? name, Action<BentoExporterOptions>? configure)
        {
            if (builder is null) throw new ArgumentNullException(nameof(builder));
            builder.ConfigureServices(services => BentoExporterRegistration.Register(services, name, configure));
            return builder.AddProcessor(sp => new BentoActivityProcessor(BentoExporterRegistration.Resolve(sp, name, configure), sp));
        }
    }
}

namespace OpenTelemetry.Logs
{
    /// <summary>Adds the Bento exporter to a <see cref="LoggerProviderBuilder"/>.</summary>
    public static class BentoExporterLoggerProviderBuilderExtensions
    {
        /// <summary>Delivers log records carrying the <c>AnalyticsEvent</c> attribute to Bento, with default named options.</summary>
        /// <param name="builder">The logger provider builder.</param>
        /// <returns>The builder, to chain calls.</returns>
        public static LoggerProviderBuilder AddBentoExporter(this LoggerProviderBuilder builder)
            => AddBentoExporter(builder, name: null, configure: null);

        /// <summary>Delivers log records tagged as analytics to Bento.</summary>
        /// <param name="builder">The logger provider builder.</param>
        /// <param name="configure">Sets the options (applied after configuration and environment variables).</param>
        /// <returns>The builder, to chain calls.</returns>
        public static LoggerProviderBuilder AddBentoExporter(this LoggerProviderBuilder builder, Action<BentoExporterOptions> configure)
            => AddBentoExporter(builder, name: null, configure);

        /// <summary>Delivers log records tagged as analytics to Bento, with named options.</summary>
        /// <param name="builder">The logger provider builder.</param>
        /// <param name="name">The options name; null for options of this exporter alone, built from the default options' configuration and then <paramref name="configure"/>.</param>
        /// <param name="configure">Sets the options, or null.</param>
        /// <returns>The builder, to chain calls.</returns>
        public static LoggerProviderBuilder AddBentoExporter(this LoggerProviderBuilder builder, string? name, Action<BentoExporterOptions>? configure)
        {
            if (builder is null) throw new ArgumentNullException(nameof(builder));
            builder.ConfigureServices(services =>
            {
                BentoExporterRegistration.Register(services, name, configure);
                services.TryAddSingleton<LogsExporterMarker>(); // for the startup check of BentoSinks.AspNetCore
            });
            return builder.AddProcessor(sp => new BentoLogProcessor(BentoExporterRegistration.Resolve(sp, name, configure), sp));
        }
    }
}
