using System;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using OpenTelemetry.Trace;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>Faults, shutdown and secrets through the trace exporter, against the emulator.</summary>
    [Collection("Exporter")]
    public class ReliabilityTests
    {
        [Theory]
        [MemberData(nameof(FaultMatrix.Cases), MemberType = typeof(FaultMatrix))]
        public async Task Every_fault_is_accounted_for_and_the_event_source_leaks_nothing(string fault, FaultOutcome expected)
        {
            using var events = new ExporterEvents();
            var time = FakeClock.New();
            await using var emulator = await BentoEmulator.StartAsync(new BentoEmulatorOptions { TimeProvider = time });
            emulator.EnqueueFaults(FaultMatrix.Faults(fault, time));
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            BentoActivityProcessor? processor = null;
            var options = new BentoExporterOptions();
            EmulatorOptions.Configure(options, emulator);
            options.Period = TimeSpan.FromSeconds(2);
            options.MaxRequestsPerMinute = 20;
            options.TimeProvider = time;
            processor = new BentoActivityProcessor(options);
            using var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddProcessor(processor).Build()!;
            const int emitted = 500;
            AnalyticsActivities.Emit(source, 0, emitted, email: i => $"user{i % 5}@example.com");
            var counters = processor.Pipeline.Counters;
            await emulator.PumpAsync(time, () => counters.Sent + counters.DroppedTotal >= emitted, TimeSpan.FromSeconds(1), maxSteps: 5000, FakeClock.Busy(counters));
            Assert.Equal(emitted, counters.Offered);
            Assert.Equal(emitted, counters.Sent + counters.DroppedTotal);
            if (expected == FaultOutcome.Unauthorized)
            {
                Assert.Equal(emitted, counters.Dropped(BentoSinks.Diagnostics.DropReason.Unauthorized));
                Assert.Contains("Error", events.Text);
            }
            else
            {
                Assert.Equal(emitted, counters.Sent);
                Assert.Equal(emitted, emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).Distinct().Count());
            }
            var text = events.Text;
            Assert.DoesNotContain(EmulatorOptions.SecretKey, text);
            Assert.DoesNotContain(EmulatorOptions.Credentials, text);
            Assert.DoesNotContain("@example.com", text);
        }

        [Fact]
        public async Task A_poisoned_event_is_dropped_alone()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            emulator.Poison = e => e.GetProperty("details").GetProperty("n").GetInt32() == 42;
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)).Build())
                AnalyticsActivities.Emit(source, 0, 1000);
            Assert.Equal(999, emulator.EventCount);
        }

        private static (BentoActivityProcessor Processor, TracerProvider Provider, ActivitySource Source) Exporter(BentoEmulator emulator, Action<BentoExporterOptions> configure)
        {
            var options = new BentoExporterOptions();
            EmulatorOptions.Configure(options, emulator);
            configure(options);
            var processor = new BentoActivityProcessor(options);
            var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddProcessor(processor).Build()!;
            return (processor, provider, source);
        }

        [Fact]
        public async Task Overload_never_blocks_OnEnd_and_counts_queue_full()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            emulator.SetRandomFaults(1.0, 1, Fault.Delayed(TimeSpan.FromHours(1))); // stalled server
            var (processor, provider, source) = Exporter(emulator, o => { o.QueueLimit = 10_000; o.RequestTimeout = TimeSpan.FromHours(1); o.ShutdownTimeout = TimeSpan.Zero; });
            var worst = TimeSpan.Zero;
            var sw = new Stopwatch();
            for (var i = 0; i < 1_000_000; i++)
            {
                sw.Restart();
                using (var a = source.StartActivity("request")!)
                {
                    a.SetTag("user.email", "ada@example.com");
                    a.AddEvent(new ActivityEvent("step", default, new ActivityTagsCollection { ["analytics.event"] = true }));
                }
                if (sw.Elapsed > worst) worst = sw.Elapsed;
            }
            var c = processor.Pipeline.Counters;
            Assert.Equal(1_000_000, c.Offered);
            Assert.True(c.Dropped(BentoSinks.Diagnostics.DropReason.QueueFull) >= 1_000_000 - 10_000 - 1000);
            Assert.True(worst < TimeSpan.FromSeconds(1), $"worst latency {worst}");
            provider.Dispose();
            source.Dispose();
            Assert.Equal(1_000_000, c.Sent + c.DroppedTotal);
        }

        [Fact]
        public async Task Eight_threads_with_random_faults_are_accounted_exactly()
        {
            var time = FakeClock.New();
            await using var emulator = await BentoEmulator.StartAsync(new BentoEmulatorOptions { TimeProvider = time });
            emulator.SetRandomFaults(0.1, 5, Fault.WithStatus(503), Fault.WithStatus(429, "1"), Fault.Abort());
            var (processor, provider, source) = Exporter(emulator, o => { o.TimeProvider = time; o.MaxRequestsPerMinute = 0; o.Period = TimeSpan.FromSeconds(2); o.RequestTimeout = TimeSpan.FromMinutes(30); o.QueueLimit = 400_000; });
            // The fake clock runs ahead of a slow machine's requests: a timeout far out of reach keeps a slow request from
            // being sent twice (a timed-out request Bento accepted is a documented duplicate); the faults are 503, 429, aborts.
            const int threads = 8, each = 50_000;
            var workers = Enumerable.Range(0, threads).Select(t => new System.Threading.Thread(() => AnalyticsActivities.Emit(source, t * each, each))).ToList();
            workers.ForEach(w => w.Start());
            workers.ForEach(w => w.Join());
            var c = processor.Pipeline.Counters;
            await emulator.PumpAsync(time, () => c.Sent + c.DroppedTotal >= threads * each, TimeSpan.FromSeconds(1), maxSteps: 100_000, FakeClock.Busy(c));
            Assert.Equal(threads * each, c.Offered);
            Assert.Equal(threads * each, c.Sent);
            Assert.Equal(threads * each, emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).Distinct().Count());
            provider.Dispose();
            source.Dispose();
        }

        [Fact]
        public void Shutdown_against_a_dead_server_returns_within_the_timeout()
        {
            var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            l.Start();
            var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            var processor = new BentoActivityProcessor(new BentoExporterOptions
            {
                SiteUuid = "s", PublishableKey = "p", SecretKey = "k", Endpoint = new Uri($"http://127.0.0.1:{port}/api/v1"), ShutdownTimeout = TimeSpan.FromSeconds(1),
            });
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddProcessor(processor).Build()!;
            for (var i = 0; i < 10_000; i++)
            {
                using var a = source.StartActivity("request")!;
                a.SetTag("user.email", "ada@example.com");
                a.AddEvent(new ActivityEvent("step", default, new ActivityTagsCollection { ["analytics.event"] = true }));
            }
            var sw = Stopwatch.StartNew();
            provider.Shutdown(10_000);
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"took {sw.Elapsed}");
            var c = processor.Pipeline.Counters;
            Assert.Equal(10_000, c.Offered);
            Assert.Equal(10_000, c.DroppedTotal);
            Assert.Equal(0, c.Sent);
        }
    }
}
