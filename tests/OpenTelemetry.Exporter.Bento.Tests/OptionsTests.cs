using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>Which options each <c>AddBentoExporter</c> call gets when traces and logs are configured side by side.</summary>
    [Collection("Exporter")]
    public class OptionsTests
    {
        private static readonly ActivityTagsCollection AnalyticsTag = new ActivityTagsCollection { ["analytics.event"] = true };

        [Fact]
        public async Task Unnamed_trace_and_log_exporters_each_keep_their_own_options()
        {
            await using var tracesBento = await BentoEmulator.StartAsync();
            await using var logsBento = await BentoEmulator.StartAsync();
            var time = FakeClock.New();
            var sourceName = "bento.tests." + Guid.NewGuid();
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddOpenTelemetry()
                .WithTracing(t => t.AddSource(sourceName).AddBentoExporter(o =>
                {
                    EmulatorOptions.Configure(o, tracesBento);
                    o.Period = TimeSpan.FromSeconds(2);
                    o.TimeProvider = time;
                }))
                .WithLogging(l => l.AddBentoExporter(o =>
                {
                    EmulatorOptions.Configure(o, logsBento);
                    o.Period = TimeSpan.FromHours(1);
                    o.TimeProvider = time;
                }), o => o.IncludeScopes = true);

            await using (var sp = services.BuildServiceProvider())
            {
                sp.GetRequiredService<TracerProvider>();
                var logger = sp.GetRequiredService<ILogger<OptionsTests>>();
                using var source = new ActivitySource(sourceName);
                using (var a = source.StartActivity("request")!)
                {
                    a.SetTag("user.email", "ada@example.com");
                    a.AddEvent(new ActivityEvent("trial_started", default, AnalyticsTag));
                }
                using (logger.BeginScope(new Dictionary<string, object?> { ["Email"] = "ada@example.com" }))
                    logger.LogInformation("{AnalyticsEvent}", "signup_completed");

                // The trace exporter's 2 s period delivers to its own endpoint; the log exporter's hour has not passed.
                var delivered = await tracesBento.AdvanceClockUntilAsync(() => tracesBento.EventCount == 1, () => time.Advance(TimeSpan.FromSeconds(1)), maxSteps: 30);
                Assert.True(delivered, $"the trace exporter did not deliver on its own period (traces: {tracesBento.EventCount}, logs: {logsBento.EventCount})");
                Assert.Equal(0, logsBento.EventCount);
            }

            Assert.Equal(new[] { "trial_started" }, tracesBento.Events.Select(e => e.Type).ToArray());
            Assert.Equal(new[] { "signup_completed" }, logsBento.Events.Select(e => e.Type).ToArray());
            Assert.Contains("(OpenTelemetry logs)", Assert.Single(logsBento.Requests).Headers["user-agent"]);
        }

        [Fact]
        public async Task Default_named_configuration_applies_to_unnamed_exporters_before_their_own_delegate()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var sourceName = "bento.tests." + Guid.NewGuid();
            var services = new ServiceCollection();
            // The app's default-named configuration: credentials, endpoint, and a secret the exporter's delegate replaces.
            services.Configure<BentoExporterOptions>(o =>
            {
                EmulatorOptions.Configure(o, emulator);
                o.SecretKey = "wrong-secret";
                o.ExcludedEventTypes = new List<string> { "internal_event" };
            });
            services.AddOpenTelemetry().WithTracing(t => t.AddSource(sourceName).AddBentoExporter(o => o.SecretKey = BentoEmulatorOptions.DefaultSecretKey));

            await using (var sp = services.BuildServiceProvider())
            {
                sp.GetRequiredService<TracerProvider>();
                using var source = new ActivitySource(sourceName);
                using var a = source.StartActivity("request")!;
                a.SetTag("user.email", "ada@example.com");
                a.AddEvent(new ActivityEvent("trial_started", default, AnalyticsTag));
                a.AddEvent(new ActivityEvent("internal_event", default, AnalyticsTag));
            }

            Assert.Equal("trial_started", Assert.Single(emulator.Events).Type);
        }
    }
}
