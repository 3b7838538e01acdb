using System;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

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
            // In a host: flush every exporter when the host stops, within its shutdown timeout (see HostStopFlush).
            services.TryAddSingleton<HostPipelines>();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, HostStopFlush>());
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
}
