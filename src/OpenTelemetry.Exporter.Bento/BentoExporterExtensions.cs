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
            return builder.AddProcessor(sp => new BentoActivityProcessor(BentoExporterRegistration.Resolve(sp, name, configure)));
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
            builder.ConfigureServices(services => BentoExporterRegistration.Register(services, name, configure));
            return builder.AddProcessor(sp => new BentoLogProcessor(BentoExporterRegistration.Resolve(sp, name, configure)));
        }
    }
}

namespace OpenTelemetry.Exporter.Bento
{
    internal static class BentoExporterRegistration
    {
        /// <summary>
        /// Registers the options services; a named call also registers its delegate on its named options. An unnamed
        /// call's delegate is not registered: every unnamed call (traces, logs) would share <see cref="Options.DefaultName"/>
        /// and see the other's delegate (see <see cref="Resolve"/>).
        /// </summary>
        public static void Register(IServiceCollection services, string? name, Action<BentoExporterOptions>? configure)
        {
            services.AddOptions();
            // Environment variables first, so that values set in code (configure) win.
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<BentoExporterOptions>, BentoEnvironmentOptions>());
            if (name != null && configure != null) services.Configure(name, configure);
        }

        /// <summary>
        /// The options of one exporter. Named: the named options, as <see cref="IOptionsMonitor{TOptions}"/> holds them.
        /// Unnamed: a fresh instance for this call alone, as OpenTelemetry's OTLP exporter does: the default-named
        /// configuration (environment variables, <c>IConfiguration</c>, <c>services.Configure&lt;BentoExporterOptions&gt;(…)</c>)
        /// applied by the options factory, then this call's delegate.
        /// </summary>
        public static BentoExporterOptions Resolve(IServiceProvider services, string? name, Action<BentoExporterOptions>? configure)
        {
            if (name != null) return services.GetRequiredService<IOptionsMonitor<BentoExporterOptions>>().Get(name);
            var options = services.GetRequiredService<IOptionsFactory<BentoExporterOptions>>().Create(Options.DefaultName);
            configure?.Invoke(options);
            return options;
        }
    }

    /// <summary>Fills unset options from <c>BENTO_SITE_UUID</c>, <c>BENTO_PUBLISHABLE_KEY</c>, <c>BENTO_SECRET_KEY</c>, <c>BENTO_ENDPOINT</c>.</summary>
    internal sealed class BentoEnvironmentOptions : IConfigureNamedOptions<BentoExporterOptions>
    {
        private readonly IConfiguration? _configuration;

        public BentoEnvironmentOptions(IServiceProvider services) => _configuration = services.GetService<IConfiguration>();

        public void Configure(BentoExporterOptions options) => Configure(Options.DefaultName, options);

        public void Configure(string? name, BentoExporterOptions options)
        {
            if (string.IsNullOrEmpty(options.SiteUuid)) options.SiteUuid = Read("BENTO_SITE_UUID");
            if (string.IsNullOrEmpty(options.PublishableKey)) options.PublishableKey = Read("BENTO_PUBLISHABLE_KEY");
            if (string.IsNullOrEmpty(options.SecretKey)) options.SecretKey = Read("BENTO_SECRET_KEY");
            var endpoint = Read("BENTO_ENDPOINT");
            if (!string.IsNullOrEmpty(endpoint) && options.Endpoint == BentoOptions.DefaultEndpoint)
            {
                if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
                    throw new ArgumentException("BENTO_ENDPOINT must be an absolute https:// URI.", nameof(BentoOptions.Endpoint));
                options.Endpoint = uri;
            }
        }

        private string? Read(string key)
        {
            var value = _configuration?[key];
            return string.IsNullOrEmpty(value) ? Environment.GetEnvironmentVariable(key) : value;
        }
    }
}
