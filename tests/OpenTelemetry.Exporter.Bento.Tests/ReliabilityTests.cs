using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Bento.Emulator;
using Microsoft.Extensions.Time.Testing;
using OpenTelemetry.Trace;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>Faults, shutdown and secrets through the trace exporter, against the emulator.</summary>
    [Collection("Exporter")]
    public class ReliabilityTests
    {
        private const string Secret = "emulator-secret-key";

        public static IEnumerable<object[]> FaultMatrix() => new[]
        {
            new object[] { "429s" }, new object[] { "429date" }, new object[] { "500" }, new object[] { "502" }, new object[] { "503" },
            new object[] { "504" }, new object[] { "abort" }, new object[] { "hang" }, new object[] { "slow" }, new object[] { "413" }, new object[] { "401" },
        };

        private static Fault[] Faults(string name, FakeTimeProvider time) => name switch
        {
            "429s" => new[] { Fault.WithStatus(429, "5"), Fault.WithStatus(429, "5") },
            "429date" => new[] { Fault.WithStatus(429, time.GetUtcNow().AddSeconds(20).ToString("R")) },
            "abort" => new[] { Fault.Abort(), Fault.Abort() },
            "hang" => new[] { Fault.Delayed(TimeSpan.FromMinutes(5)) },
            "slow" => new[] { Fault.Delayed(TimeSpan.FromSeconds(10)) },
            "413" => new[] { Fault.WithStatus(413) },
            "401" => new[] { Fault.WithStatus(401) },
            _ => new[] { Fault.WithStatus(int.Parse(name)), Fault.WithStatus(int.Parse(name)) },
        };

        [Theory]
        [MemberData(nameof(FaultMatrix))]
        public async Task Every_fault_is_accounted_for_and_the_event_source_leaks_nothing(string fault)
        {
            using var events = new ExporterEvents();
            var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero));
            await using var emulator = await BentoEmulator.StartAsync(new BentoEmulatorOptions { TimeProvider = time });
            emulator.EnqueueFaults(Faults(fault, time));
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            BentoActivityProcessor? processor = null;
            var options = new BentoExporterOptions();
            Support.Configure(options, emulator);
            options.Period = TimeSpan.FromSeconds(2);
            options.MaxRequestsPerMinute = 20;
            options.TimeProvider = time;
            processor = new BentoActivityProcessor(options);
            using var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddProcessor(processor).Build()!;
            const int emitted = 500;
            for (var i = 0; i < emitted; i++)
            {
                using var a = source.StartActivity("request")!;
                a.SetTag("user.email", $"user{i % 5}@example.com");
                a.AddEvent(new ActivityEvent("step", default, new ActivityTagsCollection { ["analytics.event"] = true, ["n"] = i }));
            }
            var counters = processor.Pipeline.Counters;
            await emulator.AdvanceClockUntilAsync(() => counters.Sent + counters.DroppedTotal >= emitted, () => time.Advance(TimeSpan.FromSeconds(1)), maxSteps: 5000, clientBusy: () => counters.Requests > counters.Answered);
            Assert.Equal(emitted, counters.Offered);
            Assert.Equal(emitted, counters.Sent + counters.DroppedTotal);
            if (fault == "401")
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
            Assert.DoesNotContain(Secret, text);
            Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(BentoEmulatorOptions.DefaultPublishableKey + ":" + Secret)), text);
            Assert.DoesNotContain("@example.com", text);
        }

        [Fact]
        public async Task A_poisoned_event_is_dropped_alone()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            emulator.Poison = e => e.GetProperty("details").GetProperty("n").GetInt32() == 42;
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => Support.Configure(o, emulator)).Build())
            {
                for (var i = 0; i < 1000; i++)
                {
                    using var a = source.StartActivity("request")!;
                    a.SetTag("user.email", "ada@example.com");
                    a.AddEvent(new ActivityEvent("step", default, new ActivityTagsCollection { ["analytics.event"] = true, ["n"] = i }));
                }
            }
            Assert.Equal(999, emulator.EventCount);
        }

        private static (BentoActivityProcessor Processor, TracerProvider Provider, ActivitySource Source) Exporter(BentoEmulator emulator, Action<BentoExporterOptions> configure)
        {
            var options = new BentoExporterOptions();
            Support.Configure(options, emulator);
            configure(options);
            var processor = new BentoActivityProcessor(options);
            var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddProcessor(processor).Build()!;
            return (processor, provider, source);
        }

        private static void Emit(ActivitySource source, int from, int count)
        {
            var tags = new ActivityTagsCollection();
            for (var i = from; i < from + count; i++)
            {
                using var a = source.StartActivity("request")!;
                a.SetTag("user.email", "ada@example.com");
                a.AddEvent(new ActivityEvent("step", default, new ActivityTagsCollection { ["analytics.event"] = true, ["n"] = i }));
            }
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
            var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero));
            await using var emulator = await BentoEmulator.StartAsync(new BentoEmulatorOptions { TimeProvider = time });
            emulator.SetRandomFaults(0.1, 5, Fault.WithStatus(503), Fault.WithStatus(429, "1"), Fault.Abort());
            var (processor, provider, source) = Exporter(emulator, o => { o.TimeProvider = time; o.MaxRequestsPerMinute = 0; o.Period = TimeSpan.FromSeconds(2); o.RequestTimeout = TimeSpan.FromSeconds(5); o.QueueLimit = 400_000; });
            const int threads = 8, each = 50_000;
            var workers = Enumerable.Range(0, threads).Select(t => new System.Threading.Thread(() => Emit(source, t * each, each))).ToList();
            workers.ForEach(w => w.Start());
            workers.ForEach(w => w.Join());
            var c = processor.Pipeline.Counters;
            await emulator.AdvanceClockUntilAsync(() => c.Sent + c.DroppedTotal >= threads * each, () => time.Advance(TimeSpan.FromSeconds(1)), maxSteps: 100_000, clientBusy: () => c.Requests > c.Answered);
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
