using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Bento.Emulator;
using Serilog.Context;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary>Faults, overload, shutdown and secrets, through WriteTo.Bento against the emulator. Accounting is read from metrics.</summary>
    [Collection("SelfLog")]
    public class ReliabilityTests
    {
        /// <summary>The defaults' behaviour on a fake clock: only the period is shortened.</summary>
        private static Task<MeteredSerilogUnderTest> StartAsync(Action<BentoSinkOptions>? configure = null)
            => MeteredSerilogUnderTest.StartAsync(o =>
            {
                o.Period = TimeSpan.FromSeconds(2);
                o.MaxRequestsPerMinute = 20;
                configure?.Invoke(o);
            });

        [Theory]
        [MemberData(nameof(FaultMatrix.Cases), MemberType = typeof(FaultMatrix))]
        public async Task Every_fault_is_accounted_for_and_no_diagnostic_leaks_secrets_or_emails(string fault, FaultOutcome expected)
        {
            using var selfLog = new SelfLogCapture();
            await using var rig = await StartAsync(o => { if (fault == "413") o.MaxRequestBytes = 1_000_000; });
            rig.Emulator.EnqueueFaults(FaultMatrix.Faults(fault, rig.Time));
            const int emitted = 1000;
            rig.Emit(0, emitted);
            await rig.PumpUntil(() => rig.Metrics.Sent + rig.Metrics.DroppedTotal == emitted, TimeSpan.FromSeconds(1));

            switch (expected)
            {
                case FaultOutcome.Transient:
                case FaultOutcome.Split:
                    Assert.Equal(emitted, rig.Metrics.Sent);
                    Assert.Equal(emitted, rig.Emulator.EventCount);
                    Assert.Equal(emitted, rig.Emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).Distinct().Count());
                    break;
                case FaultOutcome.Unauthorized:
                    Assert.Equal(emitted, rig.Metrics.DroppedFor("unauthorized"));
                    Assert.Contains("check the site UUID", selfLog.Text);
                    break;
            }
            var text = selfLog.Text;
            Assert.DoesNotContain(EmulatorOptions.SecretKey, text);
            Assert.DoesNotContain(EmulatorOptions.Credentials, text);
            Assert.DoesNotContain("@example.com", text);
        }

        [Fact]
        public async Task A_poisoned_event_in_a_batch_of_1000_is_dropped_alone()
        {
            await using var rig = await StartAsync(o => o.MaxRequestsPerMinute = 0);
            rig.Emulator.Poison = e => e.GetProperty("details").GetProperty("n").GetInt32() == 321;
            rig.Emit(0, 1000);
            await rig.PumpUntil(() => rig.Metrics.Sent + rig.Metrics.DroppedTotal == 1000, TimeSpan.FromSeconds(1));
            Assert.Equal(999, rig.Metrics.Sent);
            Assert.Equal(1, rig.Metrics.DroppedFor("rejected"));
        }

        [Fact]
        public async Task Random_faults_at_20_percent_over_10000_events_deliver_exactly_once()
        {
            await using var rig = await StartAsync(o => { o.BatchSizeLimit = 100; o.MaxRequestsPerMinute = 0; o.RequestTimeout = TimeSpan.FromSeconds(5); });
            rig.Emulator.SetRandomFaults(0.2, 7, Fault.WithStatus(500), Fault.WithStatus(502), Fault.WithStatus(503), Fault.WithStatus(504),
                Fault.WithStatus(429, "2"), Fault.Abort(), Fault.Delayed(TimeSpan.FromSeconds(30)), Fault.Delayed(TimeSpan.FromSeconds(1)));
            rig.Emit(0, 10_000);
            await rig.PumpUntil(() => rig.Metrics.Sent + rig.Metrics.DroppedTotal == 10_000, TimeSpan.FromSeconds(1), maxSteps: 100_000);
            Assert.Equal(10_000, rig.Metrics.Sent);
            Assert.Equal(10_000, rig.Emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).Distinct().Count());
            Assert.Equal(10_000, rig.Emulator.EventCount);
        }

        [Fact]
        public async Task An_outage_longer_than_the_retry_limit_drops_then_delivery_resumes_by_itself()
        {
            await using var rig = await StartAsync(o => o.RetryTimeLimit = TimeSpan.FromMinutes(3));
            rig.Emulator.SetRandomFaults(1.0, 1, Fault.WithStatus(503));
            rig.Emit(0, 500);
            await rig.PumpUntil(() => rig.Metrics.DroppedFor("retries_exhausted") == 500, TimeSpan.FromSeconds(2));
            rig.Emulator.ClearFaults();
            rig.Emit(500, 500);
            await rig.PumpUntil(() => rig.Metrics.Sent == 500, TimeSpan.FromSeconds(1));
            Assert.Equal(1000, rig.Metrics.Sent + rig.Metrics.DroppedTotal);
            Assert.True(Process.GetCurrentProcess().Threads.Count < 200);
        }

        [Fact]
        public async Task Overload_never_blocks_the_caller_and_counts_queue_full()
        {
            await using var rig = await StartAsync(o => { o.QueueLimit = 10_000; o.RequestTimeout = TimeSpan.FromHours(1); o.ShutdownTimeout = TimeSpan.Zero; });
            rig.Emulator.SetRandomFaults(1.0, 1, Fault.Delayed(TimeSpan.FromHours(2))); // stalled server
            var log = rig.Logger.ForAnalytics("overload").ForContext("Email", "ada@example.com");
            var worst = TimeSpan.Zero;
            var sw = new Stopwatch();
            GC.Collect();
            var memoryBefore = GC.GetTotalMemory(true);
            for (var i = 0; i < 1_000_000; i++)
            {
                sw.Restart();
                log.Information("n {n}", i);
                if (sw.Elapsed > worst) worst = sw.Elapsed;
            }
            var held = GC.GetTotalMemory(true) - memoryBefore;
            Assert.True(rig.Metrics.DroppedFor("queue_full") >= 1_000_000 - 10_000 - 1000);
            // The queue (10,000) and one batch in flight are all that is held.
            Assert.True(held < 64L * 1024 * 1024, $"held {held} bytes");
            Assert.True(worst < TimeSpan.FromSeconds(1), $"worst Emit latency {worst}");
            Console.WriteLine($"overload: worst Emit latency {worst.TotalMilliseconds:0.###} ms, {held / 1024} KiB held");
        }

        [Fact]
        public async Task Shutdown_delivers_50000_queued_events_to_a_healthy_server()
        {
            await using var emulator = await BentoEmulator.StartAsync(new BentoEmulatorOptions { RecordEvents = false });
            var logger = new LoggerConfiguration().Enrich.FromLogContext().WriteTo.Bento(o => EmulatorOptions.Configure(o, emulator)).CreateLogger();
            using (LogContext.PushProperty("Email", "ada@example.com"))
            {
                var log = logger.ForAnalytics("queued");
                for (var i = 0; i < 50_000; i++) log.Information("n {n}", i);
            }
            await logger.DisposeAsync();
            Assert.Equal(50_000, emulator.EventCount);
        }

        [Fact]
        public async Task Shutdown_against_a_dead_server_returns_within_the_timeout_and_counts_the_rest()
        {
            using var metrics = new BentoMeterProbe("Serilog");
            var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            listener.Start();
            var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            var logger = new LoggerConfiguration().WriteTo.Bento(o =>
            {
                o.SiteUuid = "s"; o.PublishableKey = "p"; o.SecretKey = "k";
                o.Endpoint = new Uri($"http://127.0.0.1:{port}/api/v1");
                o.ShutdownTimeout = TimeSpan.FromSeconds(2);
            }).CreateLogger();
            var log = logger.ForAnalytics("lost").ForContext("Email", "ada@example.com");
            for (var i = 0; i < 50_000; i++) log.Information("n {n}", i);
            var sw = Stopwatch.StartNew();
            await logger.DisposeAsync();
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), $"took {sw.Elapsed}");
            Assert.Equal(50_000, metrics.DroppedFor("shutdown") + metrics.DroppedFor("retries_exhausted"));
            Assert.Equal(0, metrics.Sent);
        }

        [Fact]
        public async Task Eight_threads_with_random_faults_are_accounted_exactly()
        {
            // The queue holds the whole burst here, so every event must arrive exactly once.
            await using var rig = await StartAsync(o => { o.MaxRequestsPerMinute = 0; o.RequestTimeout = TimeSpan.FromMinutes(30); o.QueueLimit = 400_000; });
            // A timed-out request that Bento did accept is sent again (at-least-once, see docs/reliability.md): the timeout is
            // far out of reach here, so a slow machine cannot turn into duplicates; the faults under test are 503, 429 and aborts.
            rig.Emulator.SetRandomFaults(0.1, 11, Fault.WithStatus(503), Fault.WithStatus(429, "1"), Fault.Abort());
            const int threads = 8, each = 50_000;
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() => rig.Emit(t * each, each))).ToList();
            workers.ForEach(w => w.Start());
            workers.ForEach(w => w.Join());
            await rig.PumpUntil(() => rig.Metrics.Sent + rig.Metrics.DroppedTotal == threads * each, TimeSpan.FromSeconds(1), maxSteps: 100_000);
            Assert.Equal(threads * each, rig.Metrics.Sent);
            Assert.Equal(threads * each, rig.Emulator.EventCount);
            Assert.Equal(threads * each, rig.Emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).Distinct().Count());
        }
    }
}
