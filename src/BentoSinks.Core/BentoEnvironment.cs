using System;

namespace BentoSinks
{
    /// <summary>
    /// The <c>BENTO_*</c> environment variables both front ends read for the settings code and configuration leave
    /// unset: <c>BENTO_SITE_UUID</c>, <c>BENTO_PUBLISHABLE_KEY</c>, <c>BENTO_SECRET_KEY</c>, <c>BENTO_ENDPOINT</c>, <c>BENTO_BUFFER_DIRECTORY</c>.
    /// </summary>
    internal static class BentoEnvironment
    {
        public static string? SiteUuid => Read("BENTO_SITE_UUID");

        public static string? PublishableKey => Read("BENTO_PUBLISHABLE_KEY");

        public static string? SecretKey => Read("BENTO_SECRET_KEY");

        public static string? Endpoint => Read("BENTO_ENDPOINT");

        public static string? BufferDirectory => Read("BENTO_BUFFER_DIRECTORY");

        /// <summary>Fills what <paramref name="options"/> leaves unset (the endpoint only while it is the default).</summary>
        public static void FillUnset(BentoOptions options)
        {
            if (string.IsNullOrWhiteSpace(options.SiteUuid)) options.SiteUuid = SiteUuid;
            if (string.IsNullOrWhiteSpace(options.PublishableKey)) options.PublishableKey = PublishableKey;
            if (string.IsNullOrWhiteSpace(options.SecretKey)) options.SecretKey = SecretKey;
            if (options.BufferDirectory is null) options.BufferDirectory = BufferDirectory;
            if (Endpoint is { } endpoint && options.Endpoint == BentoOptions.DefaultEndpoint)
            {
                if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
                    throw new ArgumentException("BENTO_ENDPOINT must be an absolute https:// URI.", nameof(BentoOptions.Endpoint));
                options.Endpoint = uri;
            }
        }

        private static string? Read(string name)
        {
            var value = Environment.GetEnvironmentVariable(name);
            return string.IsNullOrWhiteSpace(value) ? null : value;
        }
    }
}
