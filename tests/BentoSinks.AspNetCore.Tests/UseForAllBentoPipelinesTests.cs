using System;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.ConfiguredApp;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace BentoSinks.AspNetCore.Tests
{
    /// <summary>
    /// <c>emulator.UseForAllBentoPipelines()</c> on an app (tests/BentoSinks.ConfiguredApp) whose appsettings.json names
    /// production Bento for the Serilog sink and the trace exporter, and whose code names the endpoint again.
    /// </summary>
    [Collection("Web")]
    public class UseForAllBentoPipelinesTests
    {
        [Fact]
        public async Task One_line_points_every_Bento_pipeline_of_an_app_under_WebApplicationFactory_at_the_emulator_whatever_its_appsettings_name()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var redirect = emulator.UseForAllBentoPipelines();
            await using var factory = new WebApplicationFactory<ConfiguredApp.ConfiguredApp>();
            var client = factory.CreateClient();

            (await client.PostAsync("/signup?email=ada@example.com", null)).EnsureSuccessStatusCode();
            (await client.PostAsync("/trial?email=grace@example.com", null)).EnsureSuccessStatusCode();

            // The Serilog sink from appsettings.json (the ILogger record inside BeginBentoEvent) and the trace exporter
            // configured in code both reach the emulator, with its keys (it refuses any other).
            var signup = await emulator.WaitForEventAsync(e => e.Type == "signup_completed");
            var trial = await emulator.WaitForEventAsync(e => e.Type == "trial_started");
            Assert.Equal("ada@example.com", signup.Email);
            Assert.Equal("pro", signup.Detail("plan")?.GetString());
            Assert.Equal("grace@example.com", trial.Email);
            Assert.Empty(emulator.RefusedRequests);
            Assert.Contains(emulator.Requests, r => r.Headers["user-agent"].Contains("(Serilog)", StringComparison.Ordinal));
            Assert.Contains(emulator.Requests, r => r.Headers["user-agent"].Contains("(OpenTelemetry traces)", StringComparison.Ordinal));
            // The app's own configuration is untouched: it still names production Bento.
            var configuration = factory.Services.GetRequiredService<IConfiguration>();
            Assert.Equal("https://bento.example.invalid/api/v1", configuration["Bento:Endpoint"]);
        }

        [Fact]
        public async Task Two_apps_built_at_once_each_inside_its_own_redirect_send_only_to_their_own_emulator()
        {
            await using var first = await BentoEmulator.StartAsync();
            await using var second = await BentoEmulator.StartAsync(new BentoEmulatorOptions { SiteUuid = "second-site", SecretKey = "second-secret" });

            async Task RunAppAsync(BentoEmulator emulator, string email)
            {
                using var redirect = emulator.UseForAllBentoPipelines();
                await using var factory = new WebApplicationFactory<ConfiguredApp.ConfiguredApp>();
                var client = factory.CreateClient();
                (await client.PostAsync("/signup?email=" + email, null)).EnsureSuccessStatusCode();
                await emulator.WaitForEventAsync(e => e.Type == "signup_completed");
            }

            // Two parallel tests: each flow sees its own override only.
            await Task.WhenAll(Task.Run(() => RunAppAsync(first, "ada@example.com")), Task.Run(() => RunAppAsync(second, "grace@example.com")));

            Assert.Equal(new[] { "ada@example.com" }, first.Events.Select(e => e.Email).Distinct().ToArray());
            Assert.Equal(new[] { "grace@example.com" }, second.Events.Select(e => e.Email).Distinct().ToArray());
            Assert.Empty(first.RefusedRequests);
            Assert.Empty(second.RefusedRequests);
        }

        [Fact]
        public async Task UseSetting_on_a_Serilog_WriteTo_argument_blanks_the_sinks_array_entry_under_WebApplicationFactory()
        {
            // Why "overriding the Serilog endpoint with UseSetting silently removed the Bento sink": for an app with
            // minimal hosting, WebApplicationFactory hands UseSetting's host settings to the app as command-line
            // arguments, one per key of the settings including their parent sections, each parent with an empty value:
            // --Serilog:WriteTo:0= among them. Serilog.Settings.Configuration then reads WriteTo's entry 0 as a sink
            // named "" (SelfLog: "Unable to find a method called .") and drops its Name and Args.
            await using var emulator = await BentoEmulator.StartAsync();
            await using var factory = new WebApplicationFactory<ConfiguredApp.ConfiguredApp>().WithWebHostBuilder(b =>
                b.UseSetting("Serilog:WriteTo:0:Args:endpoint", emulator.ApiBase.ToString()));
            var configuration = factory.Services.GetRequiredService<IConfiguration>();
            Assert.Equal("", configuration["Serilog:WriteTo:0"]);
            Assert.Equal("Bento", configuration["Serilog:WriteTo:0:Name"]); // still there, but shadowed by the value ""
        }
    }
}
