using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>
    /// The durable buffer through both exporter paths: events left in the buffer directory by a provider that could not
    /// reach Bento (an outage, then a deploy that outlasts the shutdown timeout) are sent by the next one on it.
    /// </summary>
    [Collection("Exporter")]
    public class DurableBufferTests
    {
        /// <summary>An endpoint on loopback where nothing listens.</summary>
        private const string Unreachable = "http://127.0.0.1:1/api/v1";

        /// <summary>A buffer directory of one test's own, deleted afterwards.</summary>
        private sealed class ScratchDirectory : IDisposable
        {
            public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "bento-durable-tests", Guid.NewGuid().ToString("N"));

            public void Dispose()
            {
                try { if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true); }
                catch (IOException) { /* a provider still closing */ }
            }
        }

        private static IConfiguration Configuration(string endpoint, string directory) => new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Bento:SiteUuid"] = BentoEmulatorOptions.DefaultSiteUuid,
            ["Bento:PublishableKey"] = BentoEmulatorOptions.DefaultPublishableKey,
            ["Bento:SecretKey"] = BentoEmulatorOptions.DefaultSecretKey,
            ["Bento:Endpoint"] = endpoint,
            ["Bento:MaxRequestsPerMinute"] = "0",
            ["Bento:ShutdownTimeout"] = "00:00:00",
            ["Bento:BufferDirectory"] = directory,
        }).Build();

        /// <summary>
        /// The emulator's site and keys at <paramref name="endpoint"/>; a period of an hour, so events go only when asked
        /// (a flush, what an earlier process left) or at shutdown, which does not wait for Bento.
        /// </summary>
        private static void SendOnlyWhenAsked(BentoExporterOptions o, string endpoint)
        {
            o.SiteUuid = BentoEmulatorOptions.DefaultSiteUuid;
            o.PublishableKey = BentoEmulatorOptions.DefaultPublishableKey;
            o.SecretKey = BentoEmulatorOptions.DefaultSecretKey;
            o.Endpoint = new Uri(endpoint);
            o.MaxRequestsPerMinute = 0;
            o.Period = TimeSpan.FromHours(1);
            o.ShutdownTimeout = TimeSpan.Zero;
        }

        /// <summary>The first write to the buffer fails (a full disk for a moment); later writes succeed.</summary>
        private sealed class FirstWriteFails : global::BentoSinks.Durable.BufferFileSystem
        {
            private int _writes;

            public override void Write(FileStream stream, byte[] buffer, int count)
            {
                if (System.Threading.Interlocked.Increment(ref _writes) == 1) throw new IOException("No space left on device", 28);
                base.Write(stream, buffer, count);
            }
        }

        // Events kept in memory while the disk failed are older than those written once it works again (which are read
        // first, from disk): a flush waits for them too, and does not complete while they are still unsent.
        [Fact]
        public async Task A_flush_waits_for_the_events_kept_in_memory_while_the_disk_failed()
        {
            using var scratch = new ScratchDirectory();
            var directory = scratch.Path;
            await using var emulator = await BentoEmulator.StartAsync();
            emulator.EnqueueFaults(Fault.Delayed(TimeSpan.FromSeconds(5))); // the first batch (0, 1) stays on the wire
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name)
                .AddBentoExporter(o =>
                {
                    EmulatorOptions.Configure(o, emulator);
                    o.BufferDirectory = directory;
                    o.BufferFileSystem = new FirstWriteFails();
                    o.BatchSizeLimit = 2;
                    o.ShutdownTimeout = TimeSpan.FromSeconds(30);
                })
                .Build()!;
            AnalyticsActivities.Emit(source, 0, 10); // the disk fails: kept in memory
            await emulator.WaitForRequestsAsync(1, TimeSpan.FromSeconds(30));
            var flush = Task.Run(() => provider.ForceFlush(60_000));
            // The directory is used again after its 1 s backoff: later events go to disk, and are read first.
            var n = 100;
            await Eventually.Until(() =>
            {
                AnalyticsActivities.Emit(source, n++, 1);
                return Directory.GetFiles(directory, "*.bentoseg", SearchOption.AllDirectories).Any(f => new FileInfo(f).Length > 0);
            });
            Assert.True(await flush);
            var received = emulator.ReceivedNumbers();
            Assert.True(Enumerable.Range(0, 10).All(received.Contains), $"the flush completed with {string.Join(",", received.OrderBy(x => x))} received");
        }

        [Fact]
        public async Task Trace_events_buffered_during_an_outage_are_sent_by_the_next_provider_on_the_directory()
        {
            using var scratch = new ScratchDirectory();
            var directory = scratch.Path;
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            // The configuration key BufferDirectory, bound from IConfiguration.
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name)
                       .ConfigureServices(s => s.Configure<BentoExporterOptions>("bento", Configuration(Unreachable, directory).GetSection("Bento")))
                       .AddBentoExporter("bento", null)
                       .Build())
            {
                AnalyticsActivities.Emit(source, 0, 200);
            }
            Assert.NotEmpty(Directory.GetFiles(directory, "*.bentoseg", SearchOption.AllDirectories));

            await using var emulator = await BentoEmulator.StartAsync();
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name)
                       .AddBentoExporter(o => { EmulatorOptions.Configure(o, emulator); o.BufferDirectory = directory; })
                       .Build())
            {
                AnalyticsActivities.Emit(source, 200, 10);
                Assert.True(provider.ForceFlush(30_000));
                // FlushAsync still means "delivered or counted": what the last provider left is delivered too.
                Assert.Equal(Enumerable.Range(0, 210), emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).OrderBy(n => n));
            }
            Assert.Equal(210, emulator.EventCount);
        }

        [Fact]
        public async Task Log_records_buffered_during_an_outage_are_sent_by_the_next_provider_on_the_directory()
        {
            using var scratch = new ScratchDirectory();
            var directory = scratch.Path;
            ServiceProvider Logging(string endpoint)
            {
                var services = new ServiceCollection();
                // BENTO_BUFFER_DIRECTORY read from the app's configuration, as the other BENTO_* settings are.
                services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["BENTO_BUFFER_DIRECTORY"] = directory,
                }).Build());
                services.AddLogging();
                services.AddOpenTelemetry().WithLogging(b => b.AddBentoExporter(o => SendOnlyWhenAsked(o, endpoint)), o => o.IncludeScopes = true);
                return services.BuildServiceProvider();
            }

            void Emit(ServiceProvider sp, int from, int count)
            {
                var logger = sp.GetRequiredService<ILogger<DurableBufferTests>>();
                using (logger.BeginScope(new Dictionary<string, object?> { ["Email"] = "ada@example.com" }))
                    for (var i = from; i < from + count; i++) logger.LogInformation("{AnalyticsEvent} {n}", "durable_log", i);
            }

            await using (var sp = Logging(Unreachable)) Emit(sp, 0, 100);
            Assert.NotEmpty(Directory.GetFiles(directory, "*.bentoseg", SearchOption.AllDirectories));

            await using var emulator = await BentoEmulator.StartAsync();
            await using (var sp = Logging(emulator.ApiBase.ToString()))
            {
                Emit(sp, 100, 5);
                Assert.True(sp.GetRequiredService<LoggerProvider>().ForceFlush(30_000));
            }
            Assert.Equal(Enumerable.Range(0, 105), emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).OrderBy(n => n));
        }

        [Fact]
        public async Task Trace_and_log_exporters_of_one_host_share_a_directory_and_the_next_host_sends_both_first_reported_at_information()
        {
            using var scratch = new ScratchDirectory();
            var directory = scratch.Path;
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            ServiceProvider Host(string endpoint)
            {
                var services = new ServiceCollection();
                services.AddLogging();
                void Configure(BentoExporterOptions o)
                {
                    SendOnlyWhenAsked(o, endpoint);
                    o.BufferDirectory = directory; // one directory for both, as BENTO_BUFFER_DIRECTORY gives
                }
                services.AddOpenTelemetry()
                    .WithTracing(t => t.AddSource(source.Name).AddBentoExporter(Configure))
                    .WithLogging(l => l.AddBentoExporter(Configure), o => o.IncludeScopes = true);
                var sp = services.BuildServiceProvider();
                sp.GetRequiredService<TracerProvider>();
                sp.GetRequiredService<LoggerProvider>();
                return sp;
            }

            void Emit(ServiceProvider sp, int from, int count)
            {
                AnalyticsActivities.Emit(source, from, count);
                var logger = sp.GetRequiredService<ILogger<DurableBufferTests>>();
                using (logger.BeginScope(new Dictionary<string, object?> { ["Email"] = "ada@example.com" }))
                    for (var i = from; i < from + count; i++) logger.LogInformation("{AnalyticsEvent} {n}", "durable_log", 10_000 + i);
            }

            // Bento unreachable: both exporters build (no "in use by another process") and leave their events.
            await using (var sp = Host(Unreachable)) Emit(sp, 0, 50);
            Assert.Equal(2, Directory.GetDirectories(directory).Length);

            using var events = new ExporterEvents();
            await using var emulator = await BentoEmulator.StartAsync();
            await using (var sp = Host(emulator.ApiBase.ToString()))
            {
                // Period is an hour: what the last host left goes at once, without a flush.
                await emulator.WaitForEventsAsync(100, TimeSpan.FromSeconds(20));
            }
            var numbers = emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).OrderBy(n => n);
            Assert.Equal(Enumerable.Range(0, 50).Concat(Enumerable.Range(10_000, 50)), numbers);
            Assert.Contains("Informational Bento: 50 events left in the buffer directory by an earlier process are sent first.", events.Text);
        }
    }
}
