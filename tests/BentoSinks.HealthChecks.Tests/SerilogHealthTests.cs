using System;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;
using Serilog;

namespace BentoSinks.HealthChecks.Tests
{
    /// <summary>The health check over a real Serilog sink delivering to the emulator on 127.0.0.1, on a fake clock.</summary>
    [Collection("SelfLog")]
    public class SerilogHealthTests
    {
        [Fact]
        public async Task A_wrong_secret_key_is_Unhealthy_with_counts_and_no_secret_or_email()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var time = new FakeTimeProvider(Pipelines.Start);
            using var probe = new HealthProbe();
            await using (var logger = Pipelines.NewSerilog(emulator, time, o => o.SecretKey = "wrong-secret-key"))
            {
                Pipelines.Signup(logger, 3);
                Assert.True(await emulator.PumpUntil(time, Pipelines.Until("Serilog", p => p.IsUnauthorized)), "no 401 was taken in");

                var entry = await probe.CheckAsync();
                Assert.Equal(HealthStatus.Unhealthy, entry.Status);
                Assert.Contains("Serilog", entry.Description, StringComparison.Ordinal);
                Assert.Contains("401/403", entry.Description, StringComparison.Ordinal);
                Assert.Equal(3L, entry.Data["Serilog.dropped.unauthorized"]);
                Assert.Equal(3L, entry.Data["Serilog.offered"]);
                Assert.Equal(0L, entry.Data["Serilog.sent"]);
                Assert.Equal(1, entry.Data["pipelines"]);
                HealthProbe.AssertCountsOnly(entry);
                var shown = HealthProbe.Shown(entry) + " " + string.Join(" ", BentoDeliveryStatus.GetPipelines());
                Assert.DoesNotContain("wrong-secret-key", shown, StringComparison.Ordinal);
                Assert.DoesNotContain(emulator.Options.PublishableKey, shown, StringComparison.Ordinal);
                Assert.DoesNotContain(Pipelines.Email, shown, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain("@", shown, StringComparison.Ordinal);
                Assert.Equal(Pipelines.Start, Pipelines.Single("Serilog").UnauthorizedSince!.Value, TimeSpan.FromMinutes(1));
            }
            // Disposed: the pipeline left the registry.
            Assert.DoesNotContain(BentoDeliveryStatus.GetPipelines(), p => p.Name == "Serilog");
        }

        [Fact]
        public async Task Unauthorized_lasts_until_a_later_success_then_drops_keep_it_Degraded_for_the_window()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var time = new FakeTimeProvider(Pipelines.Start);
            using var probe = new HealthProbe(o => o.DropWindow = TimeSpan.FromMinutes(2));
            await using var logger = Pipelines.NewSerilog(emulator, time);

            // Bento refuses the credentials once (say, an account suspended for a while), then accepts them again.
            emulator.EnqueueFaults(Fault.WithStatus(401));
            Pipelines.Signup(logger);
            Assert.True(await emulator.PumpUntil(time, Pipelines.Until("Serilog", p => p.IsUnauthorized)));
            Assert.Equal(HealthStatus.Unhealthy, (await probe.CheckAsync()).Status);

            Pipelines.Signup(logger);
            Assert.True(await emulator.PumpUntil(time, Pipelines.Until("Serilog", p => p.Sent == 1)));
            var entry = await probe.CheckAsync();
            Assert.False(Pipelines.Single("Serilog").IsUnauthorized);
            // The refused event was dropped 10 s ago: Degraded, not Unhealthy, until the window has passed.
            Assert.Equal(HealthStatus.Degraded, entry.Status);
            Assert.Contains("unauthorized", entry.Description, StringComparison.Ordinal);

            time.Advance(TimeSpan.FromMinutes(2));
            entry = await probe.CheckAsync();
            Assert.Equal(HealthStatus.Healthy, entry.Status);
            Assert.Equal(1L, entry.Data["Serilog.dropped.unauthorized"]);
            Assert.Equal(1L, entry.Data["Serilog.sent"]);
        }

        [Fact]
        public async Task Healthy_traffic_is_Healthy_and_the_data_counts_what_was_sent()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var time = new FakeTimeProvider(Pipelines.Start);
            using var probe = new HealthProbe();
            await using var logger = Pipelines.NewSerilog(emulator, time);

            Assert.Equal(HealthStatus.Healthy, (await probe.CheckAsync()).Status); // built, nothing sent yet
            Pipelines.Signup(logger, 25);
            logger.ForAnalytics("$view").ForContext("Email", Pipelines.Email).Information("Viewed a page"); // excluded by default: a choice, not a failure
            Assert.True(await emulator.PumpUntil(time, Pipelines.Until("Serilog", p => p.Sent == 25)));
            Assert.Equal(25, emulator.EventCount);

            var entry = await probe.CheckAsync();
            Assert.Equal(HealthStatus.Healthy, entry.Status);
            Assert.Equal("Delivering to Bento: Serilog.", entry.Description);
            Assert.Equal(26L, entry.Data["Serilog.offered"]);
            Assert.Equal(25L, entry.Data["Serilog.sent"]);
            Assert.Equal(1L, entry.Data["Serilog.dropped.excluded"]);
            Assert.Equal(0L, entry.Data["Serilog.in_flight"]);
            HealthProbe.AssertCountsOnly(entry);
            Assert.DoesNotContain("@", HealthProbe.Shown(entry), StringComparison.Ordinal);
            Assert.Null(Pipelines.Single("Serilog").LastDropTime);
        }

        [Fact]
        public async Task Server_errors_are_Degraded_while_retrying_and_Healthy_once_delivered()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var time = new FakeTimeProvider(Pipelines.Start);
            using var probe = new HealthProbe();
            await using var logger = Pipelines.NewSerilog(emulator, time);

            emulator.EnqueueFaults(Fault.WithStatus(503), Fault.WithStatus(503), Fault.WithStatus(503));
            Pipelines.Signup(logger, 5);
            Assert.True(await emulator.PumpUntil(time, Pipelines.Until("Serilog", p => p.IsRetrying)));
            var entry = await probe.CheckAsync();
            Assert.Equal(HealthStatus.Degraded, entry.Status);
            Assert.Contains("Serilog: retrying failed requests", entry.Description, StringComparison.Ordinal);
            Assert.True((long)entry.Data["Serilog.retries"] >= 1);

            Assert.True(await emulator.PumpUntil(time, Pipelines.Until("Serilog", p => p.Sent == 5)));
            entry = await probe.CheckAsync();
            Assert.Equal(HealthStatus.Healthy, entry.Status);
            Assert.Equal(3L, entry.Data["Serilog.retries"]);
            Assert.Equal(5, emulator.EventCount);
            Assert.Null(Pipelines.Single("Serilog").RetryingSince);
        }

        [Fact]
        public async Task An_outage_past_the_retry_limit_is_Degraded_by_its_drops_then_Healthy_after_the_window()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var time = new FakeTimeProvider(Pipelines.Start);
            using var probe = new HealthProbe(); // the default window: 5 minutes
            await using var logger = Pipelines.NewSerilog(emulator, time, o => o.RetryTimeLimit = TimeSpan.FromSeconds(30));

            emulator.SetRandomFaults(1.0, 1, Fault.WithStatus(503));
            Pipelines.Signup(logger, 4);
            Assert.True(await emulator.PumpUntil(time, Pipelines.Until("Serilog", p => p.Dropped.ContainsKey("retries_exhausted"))));
            emulator.ClearFaults();
            var status = Pipelines.Single("Serilog");
            Assert.False(status.IsRetrying);
            Assert.Equal("retries_exhausted", status.LastDropReason);
            var entry = await probe.CheckAsync();
            Assert.Equal(HealthStatus.Degraded, entry.Status);
            Assert.Contains("dropped events in the last 5 min (last: retries_exhausted", entry.Description, StringComparison.Ordinal);
            Assert.Equal(4L, entry.Data["Serilog.dropped.retries_exhausted"]);

            time.Advance(TimeSpan.FromMinutes(4));
            Assert.Equal(HealthStatus.Degraded, (await probe.CheckAsync()).Status);
            time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
            entry = await probe.CheckAsync();
            Assert.Equal(HealthStatus.Healthy, entry.Status);
            Assert.Equal(4L, entry.Data["Serilog.dropped.retries_exhausted"]); // the counts stay; only the status recovers
        }

        [Fact]
        public async Task Two_loggers_are_two_pipelines_and_a_filter_picks_one()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var time = new FakeTimeProvider(Pipelines.Start);
            using var all = new HealthProbe();
            using var first = new HealthProbe(o => o.PipelineFilter = name => name == "Serilog");
            await using var good = Pipelines.NewSerilog(emulator, time);
            await using var bad = Pipelines.NewSerilog(emulator, time, o => o.SecretKey = "wrong-secret-key");

            Pipelines.Signup(bad);
            Assert.True(await emulator.PumpUntil(time, Pipelines.Until("Serilog#2", p => p.IsUnauthorized)));
            var entry = await all.CheckAsync();
            Assert.Equal(HealthStatus.Unhealthy, entry.Status);
            Assert.StartsWith("Serilog#2: ", entry.Description, StringComparison.Ordinal);
            Assert.Equal(2, entry.Data["pipelines"]);
            entry = await first.CheckAsync();
            Assert.Equal(HealthStatus.Healthy, entry.Status);
            Assert.Equal(1, entry.Data["pipelines"]);
            Assert.False(entry.Data.ContainsKey("Serilog#2.offered"));
        }
    }
}
