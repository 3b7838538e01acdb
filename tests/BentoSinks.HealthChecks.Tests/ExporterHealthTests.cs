using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;
using Serilog;

namespace BentoSinks.HealthChecks.Tests
{
    /// <summary>The health check over real OpenTelemetry exporters (and a Serilog sink) delivering to the emulator on 127.0.0.1.</summary>
    [Collection("Exporter")]
    public class ExporterHealthTests
    {
        private static readonly DateTimeOffset Start = new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

        private static void EmitSignup(ActivitySource source, string email = "grace@example.com")
        {
            using var activity = source.StartActivity("POST /signup")!;
            activity.SetTag("user.email", email);
            activity.AddEvent(new ActivityEvent("signup_completed", tags: new ActivityTagsCollection { ["analytics.event"] = true, ["plan"] = "pro" }));
        }

        [Fact]
        public async Task A_trace_exporter_with_a_wrong_key_is_Unhealthy_and_Healthy_traffic_is_Healthy()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var time = new FakeTimeProvider(Start);
            using var source = new ActivitySource("bento.health." + Guid.NewGuid());
            using var probe = new HealthProbe();
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name)
                       .AddBentoExporter(o => { EmulatorOptions.PointAt(o, emulator); o.TimeProvider = time; o.PublishableKey = "wrong-publishable-key"; })
                       .Build())
            {
                EmitSignup(source);
                Assert.True(await emulator.PumpUntil(time, Pipelines.Until("OpenTelemetry traces", p => p.IsUnauthorized && p.Dropped.ContainsKey("unauthorized"))));
                var entry = await probe.CheckAsync();
                Assert.Equal(HealthStatus.Unhealthy, entry.Status);
                Assert.StartsWith("OpenTelemetry traces: Bento has refused the credentials (401/403) since ", entry.Description, StringComparison.Ordinal);
                Assert.Equal(1L, entry.Data["OpenTelemetry traces.dropped.unauthorized"]);
                HealthProbe.AssertCountsOnly(entry);
                var shown = HealthProbe.Shown(entry);
                Assert.DoesNotContain("wrong-publishable-key", shown, StringComparison.Ordinal);
                Assert.DoesNotContain(EmulatorOptions.SecretKey, shown, StringComparison.Ordinal);
                Assert.DoesNotContain("grace@", shown, StringComparison.Ordinal);
            }
            Assert.Equal(HealthStatus.Degraded, (await probe.CheckAsync()).Status); // disposed: no pipeline is alive

            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name)
                       .AddBentoExporter(o => { EmulatorOptions.PointAt(o, emulator); o.TimeProvider = time; })
                       .Build())
            {
                for (var i = 0; i < 10; i++) EmitSignup(source, $"user{i}@example.com");
                Assert.True(await emulator.PumpUntil(time, Pipelines.Until("OpenTelemetry traces", p => p.Sent == 10)));
                var entry = await probe.CheckAsync();
                Assert.Equal(HealthStatus.Healthy, entry.Status);
                Assert.Equal(10L, entry.Data["OpenTelemetry traces.sent"]);
                Assert.DoesNotContain("@", HealthProbe.Shown(entry), StringComparison.Ordinal);
            }
        }

        [Fact]
        public async Task In_a_host_with_Serilog_traces_and_logs_the_check_names_the_pipeline_Bento_refuses()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var time = new FakeTimeProvider(Start);
            var sourceName = "bento.health." + Guid.NewGuid();
            using var source = new ActivitySource(sourceName);
            await using var serilog = new LoggerConfiguration()
                .WriteTo.Bento(o => { EmulatorOptions.PointAt(o, emulator); o.TimeProvider = time; })
                .CreateLogger();

            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.Services.AddOpenTelemetry()
                .WithTracing(t => t.AddSource(sourceName).AddBentoExporter(o => { EmulatorOptions.PointAt(o, emulator); o.TimeProvider = time; o.SecretKey = "wrong-secret-key"; }))
                .WithLogging(l => l.AddBentoExporter(o => { EmulatorOptions.PointAt(o, emulator); o.TimeProvider = time; }), o => o.IncludeScopes = true);
            builder.Services.AddHealthChecks().AddBentoHealthCheck(tags: new[] { "ready" });
            var host = builder.Build();
            try
            {
                await host.StartAsync();
                var health = host.Services.GetRequiredService<HealthCheckService>();
                Assert.Equal(
                    new[] { "Serilog", "OpenTelemetry traces", "OpenTelemetry logs" }.OrderBy(n => n, StringComparer.Ordinal),
                    BentoDeliveryStatus.GetPipelines().Select(p => p.Name).OrderBy(n => n, StringComparer.Ordinal));

                serilog.ForAnalytics("signup_completed").ForContext("Email", "ada@example.com").Information("Signed up");
                var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("App");
                using (logger.BeginScope(new Dictionary<string, object?> { ["Email"] = "bob@example.com" }))
                    logger.LogInformation("{AnalyticsEvent}: plan {plan}", "trial_started", "pro");
                EmitSignup(source);
                Assert.True(await emulator.PumpUntil(time, () => emulator.EventCount == 2 && Pipelines.Single("OpenTelemetry traces").IsUnauthorized && Pipelines.Single("OpenTelemetry traces").Dropped.ContainsKey("unauthorized")));

                var report = await health.CheckHealthAsync(r => r.Tags.Contains("ready"));
                Assert.Equal(HealthStatus.Unhealthy, report.Status);
                var entry = report.Entries["bento"];
                Assert.Equal(HealthStatus.Unhealthy, entry.Status);
                Assert.StartsWith("OpenTelemetry traces: ", entry.Description, StringComparison.Ordinal);
                Assert.DoesNotContain("Serilog:", entry.Description, StringComparison.Ordinal);
                Assert.Equal(3, entry.Data["pipelines"]);
                Assert.Equal(1L, entry.Data["Serilog.sent"]);
                Assert.Equal(1L, entry.Data["OpenTelemetry logs.sent"]);
                Assert.Equal(1L, entry.Data["OpenTelemetry traces.dropped.unauthorized"]);
                HealthProbe.AssertCountsOnly(entry);
                var shown = HealthProbe.Shown(entry);
                Assert.DoesNotContain("@", shown, StringComparison.Ordinal);
                Assert.DoesNotContain("wrong-secret-key", shown, StringComparison.Ordinal);
            }
            finally
            {
                var stop = Task.Run(async () => { await host.StopAsync(); host.Dispose(); });
                await emulator.AdvanceClockUntilAsync(() => stop.IsCompleted, () => time.Advance(TimeSpan.FromSeconds(5)), maxSteps: 200);
                await stop;
            }
            Assert.Equal(new[] { "Serilog" }, BentoDeliveryStatus.GetPipelines().Select(p => p.Name));
        }
    }
}
