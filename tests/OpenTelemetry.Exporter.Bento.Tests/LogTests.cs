using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    internal static partial class BusinessLog
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{AnalyticsEvent}: plan {plan}, {seats} seats, trial {trial}")]
        public static partial void SignupCompleted(this ILogger logger, string analyticsEvent, string plan, int seats, bool trial);
    }

    [Collection("Exporter")]
    public class LogTests
    {
        private static ServiceProvider Logging(BentoEmulator emulator, Action<BentoExporterOptions>? configure = null)
        {
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddOpenTelemetry().WithLogging(
                b => b.AddBentoExporter(o => { EmulatorOptions.Configure(o, emulator); configure?.Invoke(o); }),
                o => o.IncludeScopes = true);
            return services.BuildServiceProvider();
        }

        [Fact]
        public async Task The_documented_example_arrives_from_an_ILogger_call_with_identity_from_a_scope()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            DateTime before;
            await using (var sp = Logging(emulator))
            {
                var logger = sp.GetRequiredService<ILogger<LogTests>>();
                before = DateTime.UtcNow;
                using (logger.BeginScope(new Dictionary<string, object?> { ["Email"] = "ada@example.com", ["FirstName"] = "Ada", ["LastName"] = "Lovelace" }))
                {
                    logger.LogInformation("{AnalyticsEvent} {plan} {seats} {trial} {tags} {address}",
                        "signup_completed", "pro", 3, false, new[] { "a", "b" }, new Dictionary<string, object?> { ["city"] = "Paris" });
                    logger.LogInformation("An ordinary line for {user}", "ada@example.com");
                }
            }
            var e = Assert.Single(emulator.Events);
            var date = DateTime.Parse(e.Json.GetProperty("date").GetString()!, null, System.Globalization.DateTimeStyles.RoundtripKind);
            Assert.InRange(date, before.AddMilliseconds(-1), DateTime.UtcNow);
            var json = System.Text.Json.Nodes.JsonNode.Parse(e.Json.GetRawText())!.AsObject();
            json.Remove("date");
            JsonAssert.Equal(
                "{\"type\":\"signup_completed\",\"email\":\"ada@example.com\"," +
                "\"fields\":{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\"}," +
                "\"details\":{\"plan\":\"pro\",\"seats\":3,\"trial\":false,\"tags\":[\"a\",\"b\"],\"address\":{\"city\":\"Paris\"}}}",
                json.ToJsonString());
            Assert.Contains("(OpenTelemetry logs)", emulator.Requests[0].Headers["user-agent"]);
        }

        [Fact]
        public async Task Source_generated_LoggerMessage_methods_work_and_the_marker_can_come_from_a_scope()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            await using (var sp = Logging(emulator))
            {
                var logger = sp.GetRequiredService<ILogger<LogTests>>();
                using (logger.BeginScope(new[] { new KeyValuePair<string, object?>("UserEmail", "grace@example.com") }))
                {
                    logger.SignupCompleted("signup_completed", "pro", 3, false);
                    using (logger.BeginScope(new Dictionary<string, object?> { ["AnalyticsEvent"] = "trial_started" }))
                        logger.LogInformation("Trial for {days} days", 14);
                }
                logger.LogInformation("{AnalyticsEvent} without anyone", "signup_completed");
            }
            var events = emulator.Events.ToDictionary(e => e.Type);
            Assert.Equal(2, events.Count);
            Assert.Equal("grace@example.com", events["signup_completed"].Email);
            Assert.Equal(3, events["signup_completed"].Detail("seats")!.Value.GetInt32());
            Assert.Equal(14, events["trial_started"].Detail("days")!.Value.GetInt32());
        }

        [Fact]
        public async Task Logs_deliver_business_events_that_a_sampled_out_trace_would_lose()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var services = new ServiceCollection();
            services.AddLogging();
            var sourceName = "bento.tests." + Guid.NewGuid();
            services.AddOpenTelemetry()
                .WithTracing(t => t.AddSource(sourceName).SetSampler(new AlwaysOffSampler()).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)))
                .WithLogging(l => l.AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)), o => o.IncludeScopes = true);
            await using (var sp = services.BuildServiceProvider())
            {
                sp.GetRequiredService<TracerProvider>();
                var logger = sp.GetRequiredService<ILogger<LogTests>>();
                using var source = new ActivitySource(sourceName);
                using (var activity = source.StartActivity("request"))
                {
                    // Sampled out: no activity, or one that is not recorded; processors never see its events.
                    Assert.False(activity?.Recorded ?? false);
                    activity?.SetTag("user.email", "ada@example.com");
                    activity?.AddEvent(new ActivityEvent("lost_on_the_trace", default, new ActivityTagsCollection { ["analytics.event"] = true }));
                }
                using (logger.BeginScope(new Dictionary<string, object?> { ["Email"] = "ada@example.com" }))
                    logger.LogInformation("{AnalyticsEvent}", "signup_completed");
            }
            Assert.Equal("signup_completed", Assert.Single(emulator.Events).Type);
        }

        [Fact]
        public async Task A_hosted_app_with_tracing_and_logging_delivers_on_stop()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var sourceName = "bento.tests." + Guid.NewGuid();
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.Services.AddOpenTelemetry()
                .WithTracing(t => t.AddSource(sourceName).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)))
                .WithLogging(l => l.AddBentoExporter("logs", o => EmulatorOptions.Configure(o, emulator)), o => o.IncludeScopes = true);
            using (var host = builder.Build())
            {
                await host.StartAsync();
                using var source = new ActivitySource(sourceName);
                using (var a = source.StartActivity("request")!)
                {
                    a.SetTag("user.email", "ada@example.com");
                    a.AddEvent(new ActivityEvent("trial_started", default, new ActivityTagsCollection { ["analytics.event"] = true }));
                }
                var logger = host.Services.GetRequiredService<ILogger<LogTests>>();
                using (logger.BeginScope(new Dictionary<string, object?> { ["Email"] = "ada@example.com" }))
                    logger.LogInformation("{AnalyticsEvent}", "signup_completed");
                await host.StopAsync();
            }
            Assert.Equal(new[] { "signup_completed", "trial_started" }, emulator.Events.Select(e => e.Type).OrderBy(t => t).ToArray());
        }

        [Fact]
        public async Task Log_records_are_copied_before_the_pool_reuses_them()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            await using (var sp = Logging(emulator))
            {
                var logger = sp.GetRequiredService<ILogger<LogTests>>();
                using (logger.BeginScope(new Dictionary<string, object?> { ["Email"] = "ada@example.com" }))
                {
                    for (var i = 0; i < 2000; i++) logger.LogInformation("{AnalyticsEvent} {n}", "step", i);
                }
            }
            Assert.Equal(Enumerable.Range(0, 2000), emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).OrderBy(n => n));
        }
    }
}
