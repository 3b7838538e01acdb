using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Durable;
using BentoSinks.Testing;

namespace BentoSinks.Core.Tests
{
    /// <summary>
    /// A flush in durable mode completes only once every event logged before it has settled, also when events kept in
    /// memory after a disk failure are read before older records on disk (and share a batch with them); and disposal in
    /// that state counts each event once.
    /// </summary>
    public class DurableFlushOrderingTests
    {
        // Attack: the batch's oldest sequence was taken from its first event. A batch that starts with events kept in
        // memory (read first since the fix for the disk backlog) and ends with the last older records on disk looked newer
        // than a flush taken before them: the flush completed as soon as that batch was assembled, before it was sent.
        [Fact]
        public async Task A_flush_waits_for_disk_records_that_share_a_batch_with_newer_events_kept_in_memory()
        {
            var directory = Path.Combine(Path.GetTempPath(), "bento-flush-order", Guid.NewGuid().ToString("N"));
            var disk = new ControlledDisk { BlockReads = true };
            await using var h = await PipelineUnderTest.StartAsync(o =>
            {
                o.BufferDirectory = directory;
                o.BufferFileSystem = disk;
                o.BatchSizeLimit = 5;
            });
            try
            {
                h.Emulator.SetRandomFaults(1.0, 1, Fault.WithStatus(503)); // Bento is down
                // 0 and 1 are on disk, but reading it fails for now.
                for (var i = 0; i < 2; i++) Assert.True(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i)));
                await PipelineUnderTest.Until(() => disk.Writes >= 1 && disk.FailedReads >= 1);
                var flush = h.Pipeline.FlushAsync(); // waits for 0 and 1

                // The disk is full: 2..9 are kept in memory; 2..6 go on the wire (refused, retried), 7..9 wait.
                disk.Full = true;
                for (var i = 2; i < 10; i++) Assert.True(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i)));
                await PipelineUnderTest.Until(() => h.Emulator.RequestsStarted >= 1);
                disk.BlockReads = false;
                Assert.False(flush.IsCompleted);

                // Bento is back, slowly: each request is answered after 3 s.
                h.Emulator.ClearFaults();
                h.Emulator.SetRandomFaults(1.0, 1, Fault.Delayed(TimeSpan.FromSeconds(3)));
                await flush.WaitAsync(TimeSpan.FromSeconds(60));
                var received = h.Emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).ToArray();
                Assert.True(received.Contains(0) && received.Contains(1), $"the flush completed with only these delivered: {string.Join(",", received.OrderBy(n => n))}");
            }
            finally
            {
                try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
            }
        }
        // Attack: while events kept in memory after a disk failure were read first, the oldest unread sequence counted only
        // the event peeked (from memory) and not the older records still unread on disk (unless reading backed off): a
        // flush taken after those records completed without them.
        [Fact]
        public async Task A_flush_waits_for_unread_disk_records_while_newer_events_kept_in_memory_are_read_first()
        {
            var directory = Path.Combine(Path.GetTempPath(), "bento-flush-order", Guid.NewGuid().ToString("N"));
            var disk = new ControlledDisk();
            await using var h = await PipelineUnderTest.StartAsync(o =>
            {
                o.BufferDirectory = directory;
                o.BufferFileSystem = disk;
                o.BatchSizeLimit = 5;
            });
            try
            {
                h.Emulator.SetRandomFaults(1.0, 1, Fault.WithStatus(503)); // Bento is down
                // 0..6 on disk: 0..4 go on the wire (refused, retried), 5 and 6 wait on disk.
                for (var i = 0; i < 7; i++) Assert.True(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i)));
                await PipelineUnderTest.Until(() => disk.Writes >= 1 && h.Emulator.RequestsStarted >= 1);
                var flush = h.Pipeline.FlushAsync(); // waits for 0..6

                // The disk is full: 7..16 are kept in memory (read before 5 and 6).
                disk.Full = true;
                for (var i = 7; i < 17; i++) Assert.True(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i)));
                await PipelineUnderTest.Until(() => disk.FailedWrites >= 1);
                Assert.False(flush.IsCompleted);

                // Bento is back, slowly: each request is answered after 3 s.
                h.Emulator.ClearFaults();
                h.Emulator.SetRandomFaults(1.0, 1, Fault.Delayed(TimeSpan.FromSeconds(3)));
                await flush.WaitAsync(TimeSpan.FromSeconds(60));
                var received = h.Emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).ToArray();
                Assert.True(Enumerable.Range(0, 7).All(received.Contains), $"the flush completed with only these delivered: {string.Join(",", received.OrderBy(n => n))}");
            }
            finally
            {
                try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
            }
        }
        // Attack: disposal while Bento is down, with a batch from disk on the wire, records unread on disk and events kept
        // in memory after a disk failure: every event is counted once (sent, shutdown or deferred), and the next process
        // on the directory sends exactly the deferred ones.
        [Fact]
        public async Task Disposal_after_a_disk_failure_counts_each_event_once_and_the_next_process_sends_exactly_the_deferred()
        {
            var directory = Path.Combine(Path.GetTempPath(), "bento-flush-order", Guid.NewGuid().ToString("N"));
            var disk = new ControlledDisk();
            try
            {
                var h = await PipelineUnderTest.StartAsync(o =>
                {
                    o.BufferDirectory = directory;
                    o.BufferFileSystem = disk;
                    o.BatchSizeLimit = 5;
                    o.ShutdownTimeout = TimeSpan.FromSeconds(1);
                });
                h.Emulator.SetRandomFaults(1.0, 1, Fault.WithStatus(503)); // Bento is down
                for (var i = 0; i < 7; i++) Assert.True(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i)));
                await PipelineUnderTest.Until(() => disk.Writes >= 1 && h.Emulator.RequestsStarted >= 1);
                disk.Full = true;
                for (var i = 7; i < 17; i++) Assert.True(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i)));
                await PipelineUnderTest.Until(() => disk.FailedWrites >= 1);
                await h.DisposeAsync();
                var c = h.Counters;
                Assert.True(c.Offered == 17 && c.Sent + c.DroppedTotal + c.Deferred == 17 && c.Deferred == 7 && c.Dropped(global::BentoSinks.Diagnostics.DropReason.Shutdown) == 10,
                    $"offered {c.Offered}, sent {c.Sent}, dropped {c.DroppedTotal}, deferred {c.Deferred}");

                await using var next = await PipelineUnderTest.StartAsync(o => o.BufferDirectory = directory);
                await next.Pipeline.FlushAsync().WaitAsync(TimeSpan.FromSeconds(60));
                var received = next.Emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).OrderBy(n => n).ToArray();
                Assert.Equal(Enumerable.Range(0, 7).ToArray(), received);
            }
            finally
            {
                try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
            }
        }
    }
}
