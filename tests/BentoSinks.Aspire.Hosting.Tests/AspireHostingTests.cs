using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Reflection;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Serilog;

[assembly: CollectionBehavior(DisableTestParallelization = true)] // one test sets the process's BENTO_* variables

namespace BentoSinks.Aspire.Hosting.Tests
{
    public class AspireHostingTests
    {
        private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

        private static IDistributedApplicationBuilder AppHost()
            => DistributedApplication.CreateBuilder(new DistributedApplicationOptions { Args = Array.Empty<string>(), DisableDashboard = true });

        /// <summary>The values a resource's environment callbacks produce, resolved as the app host resolves them at run time.</summary>
        private static async Task<Dictionary<string, string?>> EnvironmentOf(IResource resource)
        {
            var values = new Dictionary<string, object>();
            var context = new EnvironmentCallbackContext(new DistributedApplicationExecutionContext(DistributedApplicationOperation.Run), values);
            foreach (var callback in resource.Annotations.OfType<EnvironmentCallbackAnnotation>()) await callback.Callback(context);
            var resolved = new Dictionary<string, string?>();
            foreach (var (key, value) in values) resolved[key] = await Resolve(value);
            return resolved;
        }

        private static async Task<string?> Resolve(object value) => value switch
        {
            string s => s,
            IValueProvider provider => await provider.GetValueAsync(CancellationToken.None),
            _ => value.ToString(),
        };

        private static async Task<List<string?>> ArgsOf(IResource resource)
        {
            var args = new List<object>();
            var context = new CommandLineArgsCallbackContext(args, CancellationToken.None);
            foreach (var callback in resource.Annotations.OfType<CommandLineArgsCallbackAnnotation>()) await callback.Callback(context);
            var resolved = new List<string?>();
            foreach (var arg in args) resolved.Add(await Resolve(arg));
            return resolved;
        }

        [Fact]
        public async Task AddBentoEmulator_models_the_emulator_on_an_http_endpoint_with_a_health_check_and_a_dashboard_link()
        {
            var builder = AppHost();
            var bento = builder.AddBentoEmulator("bento", port: 5099);

            Assert.Equal("bento-emulator", bento.Resource.Command);
            var endpoint = Assert.Single(bento.Resource.Annotations.OfType<EndpointAnnotation>());
            Assert.Equal("http", endpoint.Name);
            Assert.Equal("http", endpoint.UriScheme);
            Assert.Equal(5099, endpoint.Port);
            Assert.NotEmpty(bento.Resource.Annotations.OfType<HealthCheckAnnotation>());
            Assert.NotEmpty(bento.Resource.Annotations.OfType<ResourceUrlsCallbackAnnotation>());

            // The emulator listens on the target port the app host gives it, with the keys it hands to projects.
            endpoint.TargetPort = 61234;
            endpoint.AllocatedEndpoint = new AllocatedEndpoint(endpoint, "localhost", 5099);
            Assert.Equal(
                new[] { "--urls", "http://localhost:61234", "--site-uuid", "emulator-site", "--publishable-key", "emulator-publishable-key", "--secret-key", "emulator-secret-key" },
                await ArgsOf(bento.Resource));
        }

        [Fact]
        public async Task WithReference_hands_a_project_the_BENTO_variables_and_a_connection_string_for_the_emulators_endpoint()
        {
            var builder = AppHost();
            var bento = builder.AddBentoEmulator("bento", port: 5099);
            var app = builder.AddExecutable("app", "dotnet", ".").WithReference(bento);
            var endpoint = bento.Resource.Annotations.OfType<EndpointAnnotation>().Single();
            endpoint.AllocatedEndpoint = new AllocatedEndpoint(endpoint, "localhost", 5099);

            var env = await EnvironmentOf(app.Resource);

            Assert.Equal("http://localhost:5099/api/v1", env["BENTO_ENDPOINT"]);
            Assert.Equal("emulator-site", env["BENTO_SITE_UUID"]);
            Assert.Equal("emulator-publishable-key", env["BENTO_PUBLISHABLE_KEY"]);
            Assert.Equal("emulator-secret-key", env["BENTO_SECRET_KEY"]);
            Assert.Equal(
                "Endpoint=http://localhost:5099/api/v1;SiteUuid=emulator-site;PublishableKey=emulator-publishable-key;SecretKey=emulator-secret-key",
                env["ConnectionStrings__bento"]);
        }

        [Fact]
        public async Task An_app_host_runs_the_emulator_and_a_Serilog_sink_configured_only_by_the_variables_WithReference_gives_delivers_to_it()
        {
            var dcp = typeof(AspireHostingTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "BentoTests.DcpCliPath").Value!;
            Assert.True(File.Exists(dcp), "Aspire's orchestrator (Aspire.Hosting.Orchestration.linux-x64) is missing at " + dcp);
            var builder = AppHost();
            builder.Configuration["DcpPublisher:CliPath"] = dcp;
            // Checked to be set even with the dashboard disabled, never used then (Aspire.Dashboard.Sdk is not referenced).
            builder.Configuration["DcpPublisher:DashboardPath"] = Path.GetDirectoryName(dcp);
            // The emulator program built beside the tests, as the tool would run it.
            var bento = BentoEmulatorResourceBuilderExtensions.AddBentoEmulator(
                builder, "bento", port: null, "dotnet", Path.Combine(AppContext.BaseDirectory, "Bento.Emulator.dll"), "--quiet");
            var consumer = builder.AddExecutable("consumer", "dotnet", ".", "--info").WithReference(bento).WithExplicitStart();

            using var cts = new CancellationTokenSource(Timeout);
            await using var app = builder.Build();
            await app.StartAsync(cts.Token);
            await app.ResourceNotifications.WaitForResourceHealthyAsync("bento", cts.Token);

            // What a referencing project gets, as its process environment: the sink reads it without code.
            var env = await EnvironmentOf(consumer.Resource);
            var saved = env.Keys.ToDictionary(k => k, Environment.GetEnvironmentVariable);
            try
            {
                foreach (var (key, value) in env) Environment.SetEnvironmentVariable(key, value);
                using (var logger = new LoggerConfiguration().WriteTo.Bento().CreateLogger())
                    logger.ForAnalytics("signup_completed").Information("Signed up {Email}", "ada@example.com");
            }
            finally
            {
                foreach (var (key, value) in saved) Environment.SetEnvironmentVariable(key, value);
            }

            using var http = new HttpClient { BaseAddress = app.GetEndpoint("bento", "http") };
            using var events = JsonDocument.Parse(await http.GetStringAsync("/_emulator/events", cts.Token));
            var e = Assert.Single(events.RootElement.GetProperty("events").EnumerateArray());
            Assert.Equal("signup_completed", e.GetProperty("type").GetString());
            Assert.Equal("ada@example.com", e.GetProperty("email").GetString());
            await app.StopAsync(cts.Token);
        }
    }
}
