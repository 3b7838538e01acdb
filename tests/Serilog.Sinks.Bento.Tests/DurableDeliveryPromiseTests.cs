using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using Serilog.Core;
using Serilog.Events;
using static Serilog.Sinks.Bento.Tests.DurableLoggers;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary>
    /// The durable mode's promises through <c>WriteTo.Bento</c> against the emulator: an event is on disk within its
    /// commit window whatever the loop waits for, what an earlier process left goes first and at once, a record too
    /// large for today's request limit is settled once, and the counts stay honest.
    /// </summary>
    [Collection("SelfLog")]
    public class DurableDeliveryPromiseTests
    {
        /// <summary>
        /// A delivering logger on a directory of its own while the emulator answers every request 503 (an outage), after
        /// it logged 500 events; with the meter and SelfLog, to account for every event once the logger is disposed.
        /// </summary>
        private sealed class Outage : IAsyncDisposable
        {
            private Outage(BentoEmulator emulator, TimeSpan shutdownTimeout)
            {
                Emulator = emulator;
                emulator.SetRandomFaults(1.0, 1, Fault.WithStatus(503));
                Logger = Delivering(emulator, Directory.Path, o => { o.BatchSizeLimit = 100; o.Period = TimeSpan.FromMilliseconds(50); o.ShutdownTimeout = shutdownTimeout; });
                Emit(Logger, 0, 500);
            }

            public DurableDirectory Directory { get; } = new DurableDirectory();
            public BentoEmulator Emulator { get; }
            public BentoMeterProbe Metrics { get; } = new BentoMeterProbe("Serilog");
            public SelfLogCapture SelfLog { get; } = new SelfLogCapture();
            public Logger Logger { get; }

            public static async Task<Outage> StartAsync(TimeSpan shutdownTimeout) => new Outage(await BentoEmulator.StartAsync(), shutdownTimeout);

            /// <summary>
            /// After disposal: the count reported deferred is the records on disk, and each of the <paramref name="logged"/>
            /// events is sent, dropped or deferred. Returns the state for further assertions' messages.
            /// </summary>
            public string AssertAccounted(int logged, string more = "")
            {
                var deferred = ReportedDeferred(SelfLog);
                var state = $"deferred {deferred}, records on disk {Directory.CountRecords()}, delivered {Emulator.EventCount}, {Metrics.Describe()}{more}";
                Assert.True(deferred == Directory.CountRecords(), state);
                Assert.True(Metrics.Sent + Metrics.DroppedTotal + deferred == logged, state);
                return state;
            }

            public async ValueTask DisposeAsync()
            {
                SelfLog.Dispose();
                Metrics.Dispose();
                await Emulator.DisposeAsync();
                Directory.Dispose();
            }
        }

        [Fact]
        public async Task An_event_logged_while_a_full_batch_waits_for_the_budget_is_on_disk_at_once_and_never_dropped_as_queue_full()
        {
            using var directory = new DurableDirectory();
            await using var emulator = await BentoEmulator.StartAsync();
            using var metrics = new BentoMeterProbe("Serilog");
            // Two requests a minute: the first full batch goes, the second waits ~30 s for the budget.
            var logger = Delivering(emulator, directory.Path, o => { o.MaxRequestsPerMinute = 2; o.QueueLimit = 1000; o.ShutdownTimeout = TimeSpan.Zero; });
            // Chunks of half the queue, each waited onto the disk: the first full batch goes at 1,000, the second is
            // full at 2,000 and waits for the budget; the loop must keep spooling while it waits, or the queue fills.
            for (var chunk = 0; chunk < 8; chunk++)
            {
                Emit(logger, chunk * 500, 500);
                var expected = (chunk + 1) * 500;
                await DurableDirectory.Until(() => directory.CountRecords() >= expected, 10_000);
                if (chunk == 1) await emulator.WaitForEventsAsync(1000, TimeSpan.FromSeconds(30));
            }
            Emit(logger, 4000, 1);
            await DurableDirectory.Until(() => directory.CountRecords() >= 4001, 5_000);
            Assert.True(metrics.DroppedFor("queue_full") == 0, metrics.Describe());
            await logger.DisposeAsync();
        }

        [Fact]
        public async Task Events_an_earlier_process_left_are_sent_at_once_and_reported_at_information()
        {
            using var directory = new DurableDirectory();
            using (var a = Unreachable(directory.Path)) Emit(a, 0, 100);
            Assert.Equal(100, directory.CountRecords());

            var seen = new ConcurrentQueue<LogEvent>();
            var previous = Log.Logger;
            Log.Logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(new Capture(seen)).CreateLogger();
            try
            {
                using var selfLog = new SelfLogCapture();
                await using var emulator = await BentoEmulator.StartAsync();
                // A period of ten minutes: the leftovers must not wait for it.
                var b = Delivering(emulator, directory.Path, o => o.Period = TimeSpan.FromMinutes(10));
                await emulator.WaitForEventsAsync(100, TimeSpan.FromSeconds(20));
                Assert.Contains("earlier process", selfLog.Text, StringComparison.Ordinal);
                await DurableDirectory.Until(() => seen.Any(e => e.RenderMessage().Contains("earlier process", StringComparison.Ordinal)));
                var line = seen.First(e => e.RenderMessage().Contains("earlier process", StringComparison.Ordinal));
                Assert.Equal(LogEventLevel.Information, line.Level);
                await b.DisposeAsync();
            }
            finally
            {
                var capture = Log.Logger;
                Log.Logger = previous;
                (capture as IDisposable)?.Dispose();
            }
        }

        [Fact]
        public async Task A_buffered_record_too_large_for_todays_request_limit_is_counted_once_dead_lettered_and_its_segment_deleted()
        {
            using var directory = new DurableDirectory();
            using (var a = Unreachable(directory.Path, o => o.MaxRequestBytes = 64 * 1024)) Emit(a, 0, 1, new string('x', 4000));
            Assert.Equal(1, directory.CountRecords());

            await using var emulator = await BentoEmulator.StartAsync();
            using (var metricsB = new BentoMeterProbe("Serilog"))
            {
                var b = Delivering(emulator, directory.Path, o => o.MaxRequestBytes = 2048);
                await DurableDirectory.Until(() => metricsB.DroppedFor("too_large") == 1);
                await b.DisposeAsync();
                Assert.True(metricsB.DroppedFor("too_large") == 1, metricsB.Describe());
            }
            Assert.Empty(directory.Segments);
            Assert.Single(File.ReadAllLines(directory.DeadLetters));

            using var metricsC = new BentoMeterProbe("Serilog");
            var c = Delivering(emulator, directory.Path, o => o.MaxRequestBytes = 2048);
            await c.DisposeAsync();
            Assert.True(metricsC.DroppedTotal == 0, "counted again by the next process: " + metricsC.Describe());
            Assert.Equal(0, emulator.EventCount);
        }

        [Fact]
        public async Task Events_reported_deferred_at_disposal_with_writers_racing_it_are_exactly_those_on_disk()
        {
            for (var run = 0; run < 60; run++)
            {
                using var directory = new DurableDirectory();
                using var metrics = new BentoMeterProbe("Serilog");
                using var selfLog = new SelfLogCapture();
                var logger = Unreachable(directory.Path, o => o.QueueLimit = 500);
                var stop = 0;
                var offered = new long[4];
                var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
                {
                    var log = logger.ForAnalytics("race").ForContext("Email", "ada@example.com");
                    while (System.Threading.Volatile.Read(ref stop) == 0 || offered[w] < 50)
                    {
                        log.Information("Event {n}", w * 1_000_000 + offered[w]);
                        offered[w]++;
                        if (offered[w] > 20_000) break;
                    }
                })).ToArray();
                long Logged() => Enumerable.Range(0, 4).Sum(w => System.Threading.Volatile.Read(ref offered[w]));
                bool WritersDone() => writers.All(t => t.IsCompleted);
                // Disposal starts while every writer is logging, and writers go on logging while it runs.
                await Eventually.Until(() => Enumerable.Range(0, 4).All(w => System.Threading.Volatile.Read(ref offered[w]) >= 50) || WritersDone());
                var loggedBefore = Logged();
                var disposal = logger.DisposeAsync().AsTask();
                await Eventually.Until(() => Logged() > loggedBefore || disposal.IsCompleted || WritersDone());
                System.Threading.Volatile.Write(ref stop, 1);
                await Task.WhenAll(writers);
                await disposal;
                var deferred = ReportedDeferred(selfLog);
                var onDisk = directory.CountRecords();
                // (The meter stops with the pipeline, so drops counted after disposal are not all seen here: compare the
                // deferred count with the disk only.)
                Assert.True(deferred == onDisk,
                    $"run {run}: offered {offered.Sum()}, reported deferred {deferred}, records on disk {onDisk}, {metrics.Describe()}");
            }
        }

        [Fact]
        public async Task A_directory_deleted_while_running_is_counted_honestly_recreated_and_disposal_ends_by_its_deadline()
        {
            await using var outage = await Outage.StartAsync(shutdownTimeout: TimeSpan.FromSeconds(15)); // events wait on disk
            var directory = outage.Directory;
            await DurableDirectory.Until(() => directory.CountRecords() == 500);
            Directory.Delete(directory.Path, recursive: true); // a tmp cleaner
            // The pipeline notices, keeps events in memory meanwhile, and recreates the directory for new ones.
            await DurableDirectory.Until(() => outage.SelfLog.Text.Contains("buffer directory failed", StringComparison.Ordinal));
            outage.Emulator.ClearFaults();
            Emit(outage.Logger, 500, 100);
            await DurableDirectory.Until(() => Directory.Exists(directory.Folder));
            var disposal = Stopwatch.StartNew();
            await outage.Logger.DisposeAsync();
            disposal.Stop();
            var state = outage.AssertAccounted(600, $", disposal {disposal.Elapsed.TotalSeconds:0.0} s");
            Assert.True(disposal.Elapsed < TimeSpan.FromSeconds(15), state);
            Assert.True(outage.Metrics.Sent >= 100, state); // the events logged after the deletion are delivered
        }

        // The segment being read when the directory is deleted stays readable while running (its file is open), but at
        // disposal its unread events are on no disk: never counted deferred.
        [Fact]
        public async Task Events_of_the_segment_being_read_when_the_directory_is_deleted_are_not_called_deferred()
        {
            await using var outage = await Outage.StartAsync(shutdownTimeout: TimeSpan.FromSeconds(1)); // an outage through disposal
            await DurableDirectory.Until(() => outage.Directory.CountRecords() == 500 && outage.Emulator.RequestsStarted >= 1); // a batch read from the segment
            Directory.Delete(outage.Directory.Path, recursive: true); // a tmp cleaner
            await outage.Logger.DisposeAsync();
            outage.AssertAccounted(500);
        }

        private sealed class Capture : ILogEventSink
        {
            private readonly ConcurrentQueue<LogEvent> _seen;
            public Capture(ConcurrentQueue<LogEvent> seen) => _seen = seen;
            public void Emit(LogEvent logEvent) => _seen.Enqueue(logEvent);
        }
    }
}
