using System;

namespace BentoSinks.Core.Tests
{
    public class EndpointRuleTests
    {
        private static BentoOptions Options(string endpoint, string? insecureHttpHost = null) => new BentoOptions
        {
            SiteUuid = "s",
            PublishableKey = "p",
            SecretKey = "k",
            Endpoint = new Uri(endpoint),
            InsecureHttpHost = insecureHttpHost,
        };

        [Fact]
        public void Plain_http_to_a_named_host_needs_the_explicit_option()
        {
            var refused = Assert.Throws<ArgumentException>(() => Options("http://bento-emulator:5080/api/v1").Validate());
            Assert.Equal(nameof(BentoOptions.Endpoint), refused.ParamName);
            Assert.Contains("InsecureHttpHost", refused.Message);

            var settings = Options("http://bento-emulator:5080/api/v1", "Bento-Emulator").Validate();
            Assert.Equal("http://bento-emulator:5080/api/v1/batch/events?site_uuid=s", settings.RequestUri.AbsoluteUri);

            // The option names one host, not a scheme for all.
            Assert.Throws<ArgumentException>(() => Options("http://app.bentonow.com/api/v1", "bento-emulator").Validate());
            Options("http://127.0.0.1:5080/api/v1").Validate(); // loopback, as before
        }
    }
}
