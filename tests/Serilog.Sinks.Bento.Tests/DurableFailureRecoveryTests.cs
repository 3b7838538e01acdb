using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Durable;
using static Serilog.Sinks.Bento.Tests.DurableLoggers;

namespace Serilog.Sinks.Bento.Tests
{
    [Collection("SelfLog")]
    public class DurableFailureRecoveryTests
    {
        [Fact]
        public async Task Empty_2xx_answers_from_a_proxy_keep_the_durable_buffers_events_on_disk_until_Bento_answers()
        {
            using var directory = new DurableDirectory();
            await using var emulator = await BentoEmulator.StartAsync();
            emulator.SetRandomFaults(1.0, 1, Fault.WithBody(200, null, contentType: null)); // a captive portal answers every request
            var logger = Delivering(emulator, directory.Path, o => o.BatchSizeLimit = 10);
            Emit(logger, 0, 20);
            await emulator.WaitForRequestsAsync(2, TimeSpan.FromSeconds(30));
            emulator.ClearFaults(); // the portal is gone
            await emulator.WaitForEventsAsync(20, TimeSpan.FromSeconds(30));
            await logger.DisposeAsync();
            Assert.Equal(20, emulator.EventCount); // none deleted from disk as "unconfirmed"
        }

        // R1: one failed OpenRead stops delivery for the life of the process while writes keep succeeding.
        [Fact]
        public async Task A_failed_read_delays_delivery_but_every_event_is_delivered_while_running()
        {
            using var directory = new DurableDirectory();
            await using var emulator = await BentoEmulator.StartAsync();
            using var metrics = new BentoMeterProbe("Serilog");
            using var selfLog = new SelfLogCapture();
            var files = new SeamFileSystem { FailOpenReads = 1 };
            var logger = Delivering(emulator, directory.Path, o => { o.BufferFileSystem = files; o.BatchSizeLimit = 10; });
            Emit(logger, 0, 100);
            await emulator.WaitForEventsAsync(100, TimeSpan.FromSeconds(30)); // delivered while running, after the read retry
            var sentWhileRunning = emulator.EventCount;
            await logger.DisposeAsync();
            Assert.True(sentWhileRunning == 100, $"sent while running {sentWhileRunning}, after dispose {emulator.EventCount}, records on disk {directory.CountRecords()}, {metrics.Describe()}; selfLog: {selfLog.Text}");
        }

        // R1b: while reading backs off after failures, the disposal's flush waits for the records on disk (it does not
        // complete at once and leave them deferred).
        [Fact]
        public async Task The_flush_at_disposal_waits_for_records_whose_read_failed()
        {
            using var directory = new DurableDirectory();
            await using var emulator = await BentoEmulator.StartAsync();
            using var metrics = new BentoMeterProbe("Serilog");
            var files = new SeamFileSystem { FailOpenReads = 3 };
            var logger = Delivering(emulator, directory.Path, o => { o.BufferFileSystem = files; o.ShutdownTimeout = TimeSpan.FromSeconds(20); });
            Emit(logger, 0, 20);
            await logger.DisposeAsync();
            Assert.True(emulator.EventCount == 20 && files.Reads > 3, $"delivered {emulator.EventCount}, reads {files.Reads}, {metrics.Describe()}");
        }

        // R2: a checkpoint left without its segments makes the next-but-one process delete new segments silently.
        [Fact]
        public async Task A_checkpoint_left_without_segments_never_hides_a_later_process_events()
        {
            using var directory = new DurableDirectory();
            var blob = new string('x', 200);
            // A: the disk fills after 3 writes (segments 1..3); everything is delivered (disk part acknowledged, rest from memory).
            await using (var emulator = await BentoEmulator.StartAsync())
            {
                var files = new SeamFileSystem { FailWritesAfter = 3 };
                var a = Delivering(emulator, directory.Path, o => { o.BufferFileSystem = files; o.BufferSizeLimit = 64 * 1024; o.BatchSizeLimit = 10; o.Period = TimeSpan.FromMilliseconds(20); o.MaxRequestsPerMinute = 0; });
                Emit(a, 0, 200, blob);
                await DurableDirectory.Until(() => emulator.EventCount >= 200);
                await a.DisposeAsync();
            }
            var checkpoint = File.Exists(Path.Combine(directory.Folder, DurableBuffer.CheckpointFileName));
            var afterA = directory.Segments.Length;
            // B: Bento unreachable, 100 events deferred to disk (it names its first segment 000000000001).
            using (var b = Unreachable(directory.Path)) Emit(b, 1000, 100);
            var afterB = directory.CountRecords();
            // C: delivers what B left.
            var c = await NextProcessAsync(directory.Path);
            Assert.True(c.Delivered == 100, $"after A: checkpoint file {checkpoint}, {afterA} segments; after B: {afterB} records on disk; C delivered {c.Delivered}, {c.Metrics}");
        }

        // R3: once the disk has failed, the retry time limit applies to batches read from disk: they are dropped and
        // acknowledged, though "what was already written stays there for the next process".
        [Fact]
        public async Task After_a_disk_failure_events_already_on_disk_are_kept_for_the_next_process()
        {
            using var directory = new DurableDirectory();
            var files = new SeamFileSystem { FailWritesAfter = 1 };
            string describeA;
            using (var metricsA = new BentoMeterProbe("Serilog"))
            {
                var logger = Unreachable(directory.Path, o => { o.BufferFileSystem = files; o.RetryTimeLimit = TimeSpan.FromSeconds(1); o.BatchSizeLimit = 10; });
                Emit(logger, 0, 50);
                await DurableDirectory.Until(() => files.Writes >= 1);
                Emit(logger, 50, 10); // the disk is "full" now
                // Retried well past the 1 s RetryTimeLimit (backoff 0.5-1 s, 1-2 s, 2-4 s), on the pipeline's own clock.
                await DurableDirectory.Until(() => metricsA.Requests >= 4);
                await logger.DisposeAsync();
                describeA = metricsA.Describe();
            }
            var b = await NextProcessAsync(directory.Path);
            Assert.True(b.Delivered == 50, $"A: {describeA}; B (next process) delivered {b.Delivered} of the 50 written to disk");
        }

        // R2b: no failure at all: the last segment is sealed by a rollover, fully delivered and removed, so disposal
        // leaves the checkpoint without segments; the next process restarts segment ids at 1.
        [Fact]
        public async Task A_clean_shutdown_after_a_rollover_leaves_no_checkpoint_that_hides_later_events()
        {
            using var directory = new DurableDirectory();
            var blob = new string('x', 200);
            var checkpoint = Path.Combine(directory.Folder, DurableBuffer.CheckpointFileName);
            int emitted = 0;
            await using (var emulator = await BentoEmulator.StartAsync())
            {
                var a = Delivering(emulator, directory.Path, o => { o.BufferSizeLimit = 64 * 1024; o.BatchSizeLimit = 10; o.Period = TimeSpan.FromMilliseconds(20); o.MaxRequestsPerMinute = 0; });
                while (emitted < 300)
                {
                    Emit(a, emitted++, 1, blob);
                    await DurableDirectory.Until(() => emulator.EventCount == emitted);
                    // Bento's answer taken in: the checkpoint moved past the event (and finished segments went).
                    await DurableDirectory.Until(directory.AllAcknowledged);
                    if (directory.Segments.Length == 0 && File.Exists(checkpoint)) break;
                }
                await a.DisposeAsync();
            }
            var state = $"A emitted {emitted}; after A: checkpoint {File.Exists(checkpoint)}, segments {directory.Segments.Length}";
            using (var b = Unreachable(directory.Path)) Emit(b, 1000, 100);
            state += $"; after B: {directory.CountRecords()} records in {string.Join(",", directory.Segments.Select(Path.GetFileName))}";
            var c = await NextProcessAsync(directory.Path);
            Assert.True(c.Delivered == 100, $"{state}; C delivered {c.Delivered}, {c.Metrics}");
        }

        // R8: with the disk failed, the batch in hand (taken from memory) is abandoned at disposal and counted
        // "deferred: stays in the buffer directory", though it is on no disk.
        [Fact]
        public async Task Events_on_no_disk_at_disposal_are_never_reported_deferred()
        {
            using var directory = new DurableDirectory();
            using var selfLog = new SelfLogCapture();
            var files = new SeamFileSystem { FailWritesAfter = 0 };
            var logger = Unreachable(directory.Path, o => { o.BufferFileSystem = files; o.BatchSizeLimit = 10; });
            Emit(logger, 0, 30);
            // The disk failed, and a batch taken from memory is in hand: sent, refused, waiting for its retry.
            await DurableDirectory.Until(() => files.Writes >= 1 && selfLog.Text.Contains("; retrying in ", StringComparison.Ordinal));
            await logger.DisposeAsync();
            var records = directory.CountRecords();
            Assert.True(!selfLog.Text.Contains("stay in the buffer directory", StringComparison.Ordinal) || records > 0, $"records on disk {records}; selfLog: {selfLog.Text}");
        }

        // R4: a 401 (a rotated key, a bad deploy) drains the whole durable backlog left by the previous process.
        [Fact]
        public async Task Unauthorized_leaves_the_backlog_of_an_earlier_process_on_disk()
        {
            using var directory = new DurableDirectory();
            using (var a = Unreachable(directory.Path)) Emit(a, 0, 1000);
            Assert.Equal(1000, directory.CountRecords());
            await using var emulator = await BentoEmulator.StartAsync();
            emulator.SetRandomFaults(1.0, 1, Fault.WithStatus(401));
            using var metrics = new BentoMeterProbe("Serilog");
            var b = Delivering(emulator, directory.Path, o => o.ShutdownTimeout = TimeSpan.FromSeconds(1));
            await emulator.WaitForRequestsAsync(2, TimeSpan.FromSeconds(30)); // refused, backed off, asked again (draining would take 100)
            await b.DisposeAsync();
            var deadLetters = directory.DeadLetters;
            Assert.True(directory.CountRecords() == 1000, $"left on disk {directory.CountRecords()}, dead letters {(File.Exists(deadLetters) ? File.ReadAllLines(deadLetters).Length : 0)}, {metrics.Describe()}");
        }

        // R5: damage spanning two records loses both, counts one.
        [Fact]
        public async Task Damage_over_two_records_is_counted_for_both()
        {
            using var directory = new DurableDirectory();
            using (var first = Unreachable(directory.Path)) Emit(first, 0, 100);
            var segment = directory.Segments.Single();
            var offsets = DurableDirectory.RecordOffsets(segment);
            var bytes = File.ReadAllBytes(segment);
            // Flip the last payload byte of record 50 and the first header byte of record 51.
            bytes[offsets[51] - 1] ^= 0x5A;
            bytes[offsets[51]] ^= 0x5A;
            File.WriteAllBytes(segment, bytes);
            await using var emulator = await BentoEmulator.StartAsync();
            using var metrics = new BentoMeterProbe("Serilog");
            var logger = Delivering(emulator, directory.Path);
            await logger.DisposeAsync();
            Assert.True(metrics.DroppedFor("corrupt") == 100 - emulator.EventCount, $"delivered {emulator.EventCount}, corrupt {metrics.DroppedFor("corrupt")}");
        }

        // R6: the lock is released on disposal: a second logger in the same process on the same directory works.
        [Fact]
        public async Task The_directory_is_released_at_disposal_and_a_second_live_logger_gets_its_own_subfolder()
        {
            using var directory = new DurableDirectory();
            using (var a = Unreachable(directory.Path)) Emit(a, 0, 5);
            await using var emulator = await BentoEmulator.StartAsync();
            var b = Delivering(emulator, directory.Path);
            Emit(b, 5, 5);
            await b.DisposeAsync();
            Assert.Equal(Enumerable.Range(0, 10), emulator.ReceivedNumbers().OrderBy(n => n));
            // And two at once in one process: the second gets a subfolder of its own.
            using var c = Unreachable(directory.Path);
            using var d = Unreachable(directory.Path);
            Emit(c, 100, 1);
            Emit(d, 200, 1);
            await DurableDirectory.Until(() => Directory.Exists(Path.Combine(directory.Path, "serilog-2")) && directory.CountRecords() == 2);
        }

        // Leftovers belong to the site that wrote them: a logger for another site (another tenant's logger created later
        // in the same process, or the next process's loggers built in another order) never sends them under its own keys.
        [Fact]
        public async Task Leftovers_of_one_site_are_never_sent_by_a_logger_of_another_site_on_the_same_directory()
        {
            using var directory = new DurableDirectory();
            const string otherSite = "0b7e2c1d-6a4f-4e55-9d3a-2f1c0e9b8a77";
            using (var a = Unreachable(directory.Path, o => o.SiteUuid = otherSite)) Emit(a, 0, 5);
            Assert.Equal(5, directory.CountRecords());
            await using var emulator = await BentoEmulator.StartAsync();
            var b = Delivering(emulator, directory.Path);
            Emit(b, 100, 3);
            await b.DisposeAsync();
            // B delivers its own events only; A's stay in the directory for a logger of A's site.
            Assert.Equal(new[] { 100, 101, 102 }, emulator.ReceivedNumbers().OrderBy(n => n).ToArray());
            Assert.Equal(5, directory.CountRecords());
            // A logger of A's site (here on the emulator's site again after it) still finds them: a later logger of the
            // first site takes its own subfolder back.
            var c = Delivering(emulator, directory.Path);
            await c.DisposeAsync();
            Assert.Equal(3, emulator.ReceivedNumbers().Length);
            using (var a2 = Unreachable(directory.Path, o => o.SiteUuid = otherSite)) { }
            Assert.Equal(5, directory.CountRecords());
        }

        // R7: a partial write before ENOSPC leaves valid records on disk that were also kept in memory.
        [Fact]
        public async Task A_partial_write_before_disk_full_is_cut_back_so_the_next_process_sends_nothing_twice()
        {
            using var directory = new DurableDirectory();
            using var metricsA = new BentoMeterProbe("Serilog");
            var files = new SeamFileSystem { FailWritesAfter = 1, PartialOnFailure = true };
            using (var a = Unreachable(directory.Path, o => { o.BufferFileSystem = files; o.BatchSizeLimit = 10; }))
            {
                Emit(a, 0, 10);
                await DurableDirectory.Until(() => files.Writes >= 1);
                Emit(a, 10, 40); // half of this group commit reaches the disk before the "disk full"
                await DurableDirectory.Until(() => files.Writes >= 2);
            }
            var describeA = metricsA.Describe();
            await using var emulator = await BentoEmulator.StartAsync();
            var b = Delivering(emulator, directory.Path);
            await b.DisposeAsync();
            var numbers = emulator.ReceivedNumbers();
            // A counted 10..49 as shutdown (kept in memory, lost at disposal), yet B delivers part of them.
            Assert.True(numbers.Length == 10, $"A: {describeA}; B delivered {numbers.Length}: {string.Join(",", numbers.OrderBy(n => n))}");
        }

        private sealed class SeamFileSystem : BufferFileSystem
        {
            private int _writes;
            private int _reads;
            public int FailWritesAfter { get; init; } = int.MaxValue;
            public int FailOpenReads { get; init; }
            public bool PartialOnFailure { get; init; }
            public int Writes => System.Threading.Volatile.Read(ref _writes);
            public int Reads => System.Threading.Volatile.Read(ref _reads);

            public override Stream OpenRead(string path)
            {
                if (System.Threading.Interlocked.Increment(ref _reads) <= FailOpenReads) throw new IOException("transient read error (EIO)", 5);
                return base.OpenRead(path);
            }

            public override void Write(FileStream stream, byte[] buffer, int count)
            {
                if (System.Threading.Interlocked.Increment(ref _writes) > FailWritesAfter)
                {
                    if (PartialOnFailure) { base.Write(stream, buffer, count / 2); stream.Flush(); }
                    throw new IOException("No space left on device", 28);
                }
                base.Write(stream, buffer, count);
            }
        }
    }
}
