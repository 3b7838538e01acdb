using System;
using BentoSinks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace OpenTelemetry.Exporter.Bento
{
    /// <summary>Fills unset options from <c>BENTO_SITE_UUID</c>, <c>BENTO_PUBLISHABLE_KEY</c>, <c>BENTO_SECRET_KEY</c>, <c>BENTO_ENDPOINT</c>, <c>BENTO_BUFFER_DIRECTORY</c>.</summary>
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
            if (options.BufferDirectory is null) options.BufferDirectory = Read("BENTO_BUFFER_DIRECTORY");
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
