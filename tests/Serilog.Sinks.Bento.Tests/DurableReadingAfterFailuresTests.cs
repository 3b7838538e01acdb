using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Durable;
using BentoSinks.Testing;
using Serilog.Core;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary>
    /// What the durable buffer reads, and in which order, after the disk failed: a segment whose read backs off is never
    /// skipped, and events kept in memory while the disk was full never wait behind the disk's backlog.
    /// </summary>
    [Collection("SelfLog")] // builds sinks: their pipelines must not share the metrics tag of another test's
    public class DurableReadingAfterFailuresTests
    {
        private static Logger Delivering(BentoEmulator emulator, string directory, Action<BentoSinkOptions> configure)
            => new LoggerConfiguration().WriteTo.Bento(o =>
            {
                EmulatorOptions.Configure(o, emulator);
                o.BufferDirectory = directory;
                o.Period = TimeSpan.FromMilliseconds(50);
                configure(o);
            }).CreateLogger();

        private static void Emit(ILogger logger, int from, int count, string? blob = null)
        {
            var log = logger.ForAnalytics("durable").ForContext("Email", "ada@example.com");
            for (var i = from; i < from + count; i++)
            {
                if (blob is null) log.Information("Event {n}", i);
                else log.Information("Event {n} {blob}", i, blob);
            }
        }

        // Review finding: a newer segment lost (deleted from outside) moved the reader's place past older segments still
        // waiting for a read retry: their events were never sent by this process, and its flushes did not wait for them.
        [Fact]
        public async Task Segments_waiting_for_a_read_retry_are_delivered_after_a_newer_segment_is_lost()
        {
            if (OperatingSystem.IsWindows()) return; // deletes files the buffer holds open
            using var directory = new DurableDirectory();
            await using var emulator = await BentoEmulator.StartAsync();
            using var metrics = new BentoMeterProbe("Serilog");
            var files = new ControlledDisk { BlockReads = true };
            var logger = Delivering(emulator, directory.Path, o => { o.BufferFileSystem = files; o.BufferSizeLimit = 64 * 1024; o.BatchSizeLimit = 10; });
            Emit(logger, 0, 30, new string('x', 1000)); // segments of 8 KiB or so: several of them
            await DurableDirectory.Until(() => directory.CountRecords() == 30);
            var segments = directory.Segments;
            Assert.True(segments.Length >= 2, $"{segments.Length} segments");

            // Reading backs off; meanwhile the newest segment and the lock file are deleted, and the disk is full.
            var newest = segments.Last();
            var lost = DurableDirectory.RecordOffsets(newest).Length;
            files.Full = true;
            File.Delete(newest);
            File.Delete(Path.Combine(directory.Folder, DurableBuffer.LockFileName));
            Emit(logger, 30, 1); // kept in memory: the disk failed
            await DurableDirectory.Until(() => files.LockOpens >= 2); // the directory taken again (the lost segment forgotten)
            files.Full = false;
            files.BlockReads = false;

            var expected = 31 - lost;
            try { await emulator.WaitForEventsAsync(expected, TimeSpan.FromSeconds(40)); }
            catch (TimeoutException) { }
            var delivered = emulator.ReceivedNumbers().OrderBy(n => n).ToArray();
            Assert.True(delivered.Length == expected && metrics.DroppedFor("buffer_lost") == lost,
                $"delivered while running {delivered.Length} of {expected} ({string.Join(",", delivered)}), lost segment held {lost}; {metrics.Describe()}");
            await logger.DisposeAsync();
            Assert.Equal(expected, emulator.EventCount);
        }

        // Review finding: events kept in memory after a disk failure were read only once the disk had nothing to read, so
        // a steady backlog on disk held them back (and a crash or a full queue would lose them meanwhile).
        [Fact]
        public async Task Events_kept_in_memory_while_the_disk_was_full_go_before_the_disks_backlog()
        {
            using var directory = new DurableDirectory();
            await using var emulator = await BentoEmulator.StartAsync();
            using var metrics = new BentoMeterProbe("Serilog");
            var files = new ControlledDisk { Full = true };
            emulator.SetRandomFaults(1.0, 1, Fault.WithStatus(503)); // Bento is down
            var logger = Delivering(emulator, directory.Path, o => { o.BufferFileSystem = files; o.BatchSizeLimit = 10; });
            Emit(logger, 0, 30); // the disk is full: kept in memory; 0..9 go on the wire and are retried
            await DurableDirectory.Until(() => files.FailedWrites >= 1);
            files.Full = false;
            await DurableDirectory.Until(() => files.LockChecks >= 1); // the buffer tried its directory again: new events go to disk
            Emit(logger, 30, 50);
            await DurableDirectory.Until(() => directory.CountRecords() == 50);
            emulator.ClearFaults(); // Bento is back: the retry of 0..9 goes, then what waits

            await emulator.WaitForEventsAsync(80, TimeSpan.FromSeconds(60));
            var order = emulator.ReceivedNumbers().ToList();
            var lastFromMemory = order.FindLastIndex(n => n < 30);
            var firstFromDisk = order.FindIndex(n => n >= 30);
            Assert.True(lastFromMemory < firstFromDisk, $"delivered in this order: {string.Join(",", order)}; {metrics.Describe()}");
            await logger.DisposeAsync();
            Assert.Equal(80, emulator.ReceivedNumbers().Distinct().Count());
        }
    }
}
