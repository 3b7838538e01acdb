using System;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;
using Serilog;
using Serilog.Context;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>
    /// One shutdown deadline per process: a Serilog sink, a trace exporter and a log exporter to the same account,
    /// stopped one after another with Bento down, take one <c>ShutdownTimeout</c> in all, not one each (here the SDK's 5 s
    /// disposal deadline for each provider, then 30 s for the Serilog sink: 40 s without a shared deadline).
    /// </summary>
    [Collection("Exporter")]
    public class ProcessShutdownTests
    {
        private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(30);

        [Fact]
        public async Task Serilog_traces_and_logs_stopped_in_turn_with_Bento_down_take_one_shutdown_timeout_in_all()
        {
            var time = FakeClock.New();
            await using var emulator = await BentoEmulator.StartAsync(new BentoEmulatorOptions { TimeProvider = time });
            emulator.SetRandomFaults(1.0, 7, Fault.WithStatus(503)); // Bento is down for the whole test
            var sourceName = "bento.tests." + Guid.NewGuid();

            var serilog = new LoggerConfiguration().Enrich.FromLogContext()
                .WriteTo.Bento(o => Configure(o, emulator, time))
                .CreateLogger();
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.Services.AddOpenTelemetry()
                .WithTracing(t => t.AddSource(sourceName).AddBentoExporter(o => Configure(o, emulator, time)))
                .WithLogging(l => l.AddBentoExporter(o => Configure(o, emulator, time)));
            var host = builder.Build();
            await host.StartAsync();

            Emit(serilog, host, sourceName);
            // Each pipeline is retrying its batch against the 503s.
            await emulator.AdvanceClockUntilAsync(() => emulator.RequestCount >= 3, () => time.Advance(TimeSpan.FromSeconds(1)), maxSteps: 60);

            // The order a host and Program.cs use: the host's providers, then the Serilog logger.
            var started = time.GetUtcNow();
            var stop = Task.Run(async () =>
            {
                await host.StopAsync();
                host.Dispose();
                serilog.Dispose();
            });
            await emulator.AdvanceClockUntilAsync(() => stop.IsCompleted, () => time.Advance(TimeSpan.FromMilliseconds(50)), maxSteps: 10_000);
            await stop;
            var took = time.GetUtcNow() - started;

            Assert.True(took <= ShutdownTimeout + TimeSpan.FromSeconds(1),
                $"three pipelines with Bento down took {took.TotalSeconds:0.0} s (fake clock) to stop; one ShutdownTimeout is {ShutdownTimeout.TotalSeconds} s");
            Assert.Equal(0, emulator.EventCount);
        }

        [Fact]
        public async Task In_a_host_with_Bento_down_everything_stops_within_the_hosts_shutdown_timeout()
        {
            var time = FakeClock.New();
            await using var emulator = await BentoEmulator.StartAsync(new BentoEmulatorOptions { TimeProvider = time });
            emulator.SetRandomFaults(1.0, 7, Fault.WithStatus(503));
            var sourceName = "bento.tests." + Guid.NewGuid();
            var serilog = new LoggerConfiguration().Enrich.FromLogContext().WriteTo.Bento(o => Configure(o, emulator, time)).CreateLogger();
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(3)); // under the SDK's own 5 s disposal deadline
            builder.Services.AddOpenTelemetry()
                .WithTracing(t => t.AddSource(sourceName).AddBentoExporter(o => Configure(o, emulator, time)))
                .WithLogging(l => l.AddBentoExporter(o => Configure(o, emulator, time)));
            var host = builder.Build();
            await host.StartAsync();
            Emit(serilog, host, sourceName);
            await emulator.AdvanceClockUntilAsync(() => emulator.RequestCount >= 3, () => time.Advance(TimeSpan.FromSeconds(1)), maxSteps: 60);

            var started = time.GetUtcNow();
            var stop = Task.Run(async () =>
            {
                await host.StopAsync();
                host.Dispose();
                serilog.Dispose();
            });
            await emulator.AdvanceClockUntilAsync(() => stop.IsCompleted, () => time.Advance(TimeSpan.FromMilliseconds(50)), maxSteps: 10_000);
            await stop;
            var took = time.GetUtcNow() - started;
            Assert.True(took < TimeSpan.FromSeconds(3), $"with HostOptions.ShutdownTimeout = 3 s the process took {took.TotalSeconds:0.0} s (fake clock) to stop its three pipelines");
            Assert.Equal(0, emulator.EventCount);
        }

        [Theory]
        [InlineData(30_000)]
        [InlineData(-1)]   // Timeout.InfiniteTimeSpan: no host limit, each exporter's own ShutdownTimeout
        [InlineData(1_000)] // within the 1 s margin: nothing to share, the providers' disposal flushes
        public async Task In_a_host_stopping_delivers_what_the_exporters_hold_before_the_providers_are_disposed(int hostTimeoutMs)
        {
            await using var emulator = await BentoEmulator.StartAsync();
            emulator.SetRandomFaults(1.0, 3, Fault.Delayed(TimeSpan.FromMilliseconds(200))); // a slow but healthy Bento
            var sourceName = "bento.tests." + Guid.NewGuid();
            var builder = Host.CreateApplicationBuilder();
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMilliseconds(hostTimeoutMs));
            builder.Logging.ClearProviders();
            builder.Services.AddOpenTelemetry()
                .WithTracing(t => t.AddSource(sourceName).AddBentoExporter(o => { EmulatorOptions.Configure(o, emulator); o.Period = TimeSpan.FromHours(1); }))
                .WithLogging(l => l.AddBentoExporter(o => { EmulatorOptions.Configure(o, emulator); o.Period = TimeSpan.FromHours(1); }));
            var host = builder.Build();
            await host.StartAsync();
            using (var source = new ActivitySource(sourceName))
            using (var a = source.StartActivity("request")!)
            {
                a.SetTag("user.email", "ada@example.com");
                a.AddEvent(new ActivityEvent("from_traces", default, new ActivityTagsCollection { ["analytics.event"] = true }));
            }
            host.Services.GetRequiredService<ILogger<ProcessShutdownTests>>().LogInformation("{AnalyticsEvent} {Email}", "from_logs", "ada@example.com");

            await host.StopAsync();
            if (hostTimeoutMs > 1_000)
            {
                // Delivered by the host's stop, before the providers are disposed.
                Assert.Equal(new[] { "from_logs", "from_traces" }, emulator.Events.Select(e => e.Type).OrderBy(t => t, StringComparer.Ordinal).ToArray());
            }
            host.Dispose();
            Assert.Equal(new[] { "from_logs", "from_traces" }, emulator.Events.Select(e => e.Type).OrderBy(t => t, StringComparer.Ordinal).ToArray());
        }

        private static void Emit(Serilog.ILogger serilog, IHost host, string sourceName)
        {
            using (LogContext.PushProperty("Email", "ada@example.com"))
                serilog.ForAnalytics("from_serilog").Information("signed up");
            using (var source = new ActivitySource(sourceName))
            using (var a = source.StartActivity("request")!)
            {
                a.SetTag("user.email", "ada@example.com");
                a.AddEvent(new ActivityEvent("from_traces", default, new ActivityTagsCollection { ["analytics.event"] = true }));
            }
            host.Services.GetRequiredService<ILogger<ProcessShutdownTests>>().LogInformation("{AnalyticsEvent} {Email}", "from_logs", "ada@example.com");
        }

        private static void Configure(global::BentoSinks.BentoOptions o, BentoEmulator emulator, TimeProvider time)
        {
            EmulatorOptions.Configure(o, emulator);
            o.TimeProvider = time;
            o.Period = TimeSpan.FromSeconds(1);
            o.ShutdownTimeout = ShutdownTimeout;
            o.RetryTimeLimit = TimeSpan.FromHours(1);
        }
    }
}
