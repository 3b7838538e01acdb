using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks;
using Microsoft.Extensions.Configuration;
using Serilog;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary>BentoEndpointOverride (emulator.UseForAllBentoPipelines()) against each way a Serilog sink is configured.</summary>
    [Collection("SelfLog")] // builds sinks: their pipelines must not share the metrics tag of another test's
    public class EndpointOverrideTests
    {
        private const string Production = "https://bento.example.invalid/api/v1";

        [Fact]
        public async Task The_override_beats_the_endpoint_and_keys_given_in_code()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using (emulator.UseForAllBentoPipelines())
            using (var logger = new LoggerConfiguration()
                .WriteTo.Bento(siteUuid: "production-site", publishableKey: "production-publishable", secretKey: "production-secret", endpoint: Production)
                .CreateLogger())
            {
                logger.ForAnalytics("signup_completed").Information("Signed up {Email}", "ada@example.com");
            }
            Assert.Equal("signup_completed", Assert.Single(emulator.Events).Type);
            Assert.Empty(emulator.RefusedRequests);
        }

        [Fact]
        public async Task The_override_beats_the_endpoint_and_keys_of_appsettings_json()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Serilog:Using:0"] = "Serilog.Sinks.Bento",
                ["Serilog:WriteTo:0:Name"] = "Bento",
                ["Serilog:WriteTo:0:Args:endpoint"] = Production,
                ["Serilog:WriteTo:0:Args:siteUuid"] = "production-site",
                ["Serilog:WriteTo:0:Args:publishableKey"] = "production-publishable",
                ["Serilog:WriteTo:0:Args:secretKey"] = "production-secret",
            }).Build();
            using (emulator.UseForAllBentoPipelines())
            using (var logger = new LoggerConfiguration().ReadFrom.Configuration(configuration).CreateLogger())
            {
                logger.ForAnalytics("signup_completed").Information("Signed up {Email}", "ada@example.com");
            }
            Assert.Equal("signup_completed", Assert.Single(emulator.Events).Type);
            Assert.Empty(emulator.RefusedRequests);
        }

        [Fact]
        public async Task A_sink_is_redirected_only_if_built_inside_the_scope_and_scopes_nest()
        {
            await using var first = await BentoEmulator.StartAsync();
            await using var second = await BentoEmulator.StartAsync();
            Serilog.Core.Logger inside, nested, after;
            using (first.UseForAllBentoPipelines())
            {
                inside = new LoggerConfiguration().WriteTo.Bento(o => EmulatorOptions.PointAt(o, second)).CreateLogger();
                using (second.UseForAllBentoPipelines())
                    nested = new LoggerConfiguration().WriteTo.Bento(o => o.Endpoint = new Uri(Production)).CreateLogger();
            }
            after = new LoggerConfiguration().WriteTo.Bento(o => EmulatorOptions.PointAt(o, second)).CreateLogger();
            Assert.False(BentoEndpointOverride.IsActive);

            inside.ForAnalytics("inside").Information("{Email}", "ada@example.com");
            nested.ForAnalytics("nested").Information("{Email}", "ada@example.com");
            after.ForAnalytics("after").Information("{Email}", "ada@example.com");
            inside.Dispose();
            nested.Dispose();
            after.Dispose();

            Assert.Equal("inside", Assert.Single(first.Events).Type);
            Assert.Equal(new[] { "after", "nested" }, second.Events.Select(e => e.Type).OrderBy(t => t, StringComparer.Ordinal).ToArray());
        }

        [Fact]
        public void The_override_refuses_plain_http_to_a_remote_host_and_blank_keys_when_it_begins()
        {
            Assert.Equal("endpoint", Assert.Throws<ArgumentException>(() => BentoEndpointOverride.Begin(new Uri("http://bento.example.com/api/v1"), "s", "p", "k")).ParamName);
            Assert.Equal("secretKey", Assert.Throws<ArgumentException>(() => BentoEndpointOverride.Begin(new Uri("http://127.0.0.1:5080/api/v1"), "s", "p", " ")).ParamName);
            Assert.False(BentoEndpointOverride.IsActive);
        }
    }
}
