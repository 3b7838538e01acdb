using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BentoSinks.Diagnostics;

namespace BentoSinks.Core.Tests
{
    public class BatchingTests
    {
        [Fact]
        public async Task Batches_leave_when_full_and_the_rest_on_flush()
        {
            await using var h = await PipelineUnderTest.StartAsync(o => { o.Period = TimeSpan.FromHours(1); o.BatchSizeLimit = 1000; });
            for (var i = 0; i < 2500; i++) Assert.True(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i)));
            await h.Emulator.WaitForEventsAsync(2000, TimeSpan.FromSeconds(20));
            await h.Pipeline.FlushAsync();
            Assert.Equal(new[] { 1000, 1000, 500 }, h.Emulator.Requests.Select(r => r.EventCount).ToArray());
            Assert.Equal(Enumerable.Range(0, 2500), h.Emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).OrderBy(n => n));
            h.AssertAccounted();
        }

        [Fact]
        public async Task A_partial_batch_waits_for_the_period_then_goes()
        {
            await using var h = await PipelineUnderTest.StartAsync(o => o.Period = TimeSpan.FromSeconds(10), fakeTime: true);
            for (var i = 0; i < 3; i++) h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i));
            await PipelineUnderTest.Until(() => h.Pipeline.IsParked(out _)); // the events are in the batch, the loop waits
            h.Time!.Advance(TimeSpan.FromSeconds(9));
            await PipelineUnderTest.Until(() => h.Pipeline.IsParked(out _)); // woke, found the period not over, waits again
            Assert.Empty(h.Emulator.Requests);
            h.Time.Advance(TimeSpan.FromSeconds(1.5));
            await h.Emulator.WaitForEventsAsync(3, TimeSpan.FromSeconds(10));
            Assert.Equal(3, Assert.Single(h.Emulator.Requests).EventCount);
        }

        [Fact]
        public async Task Batches_respect_the_request_byte_limit_and_a_lone_oversized_event_is_dropped_alone()
        {
            await using var h = await PipelineUnderTest.StartAsync(o => { o.Period = TimeSpan.FromHours(1); o.MaxRequestBytes = 4096; });
            for (var i = 0; i < 40; i++)
            {
                var e = PipelineUnderTest.Numbered(i);
                e.Details!["pad"] = new string('p', 400);
                h.Pipeline.TryEnqueue(e);
            }
            h.Pipeline.TryEnqueue(new TestEvent { Details = new Dictionary<string, object?> { ["big"] = new string('x', 10_000) } });
            await h.Pipeline.FlushAsync();

            Assert.All(h.Emulator.Requests, r => Assert.True(System.Text.Encoding.UTF8.GetByteCount(r.Body) <= 4096));
            Assert.True(h.Emulator.Requests.Count >= 5);
            Assert.Equal(40, h.Emulator.EventCount);
            Assert.Equal(1, h.Counters.Dropped(DropReason.TooLarge));
            Assert.Contains("too_large", h.Diagnostics.All);
            h.AssertAccounted();
        }

        [Fact]
        public async Task Invalid_and_throwing_events_are_dropped_alone()
        {
            await using var h = await PipelineUnderTest.StartAsync(o => o.Period = TimeSpan.FromHours(1));
            h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(1));
            h.Pipeline.TryEnqueue(new TestEvent { Invalid = true });
            h.Pipeline.TryEnqueue(new TestEvent { Throw = true });
            h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(2));
            await h.Pipeline.FlushAsync();
            Assert.Equal(2, h.Emulator.EventCount);
            Assert.Equal(2, h.Counters.Dropped(DropReason.Invalid));
            Assert.Contains("test event marked invalid", h.Diagnostics.All);
            h.AssertAccounted();
        }

        [Fact]
        public async Task Eight_writers_deliver_every_event_exactly_once()
        {
            await using var h = await PipelineUnderTest.StartAsync(o => o.Period = TimeSpan.FromMilliseconds(20));
            const int writers = 8, each = 10_000;
            var threads = Enumerable.Range(0, writers).Select(w => new Thread(() =>
            {
                for (var i = 0; i < each; i++) h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(w * each + i));
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            await h.Pipeline.FlushAsync();
            var ns = h.Emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).ToList();
            Assert.Equal(writers * each, ns.Count);
            Assert.Equal(writers * each, ns.Distinct().Count());
            Assert.All(h.Emulator.Requests, r => Assert.True(r.EventCount <= 1000));
            h.AssertAccounted();
        }

        [Fact]
        public async Task A_full_queue_drops_and_counts_without_blocking()
        {
            await using var h = await PipelineUnderTest.StartAsync(o =>
            {
                o.Period = TimeSpan.FromHours(1);
                o.QueueLimit = 10;
                o.BatchSizeLimit = 10;
                o.RequestTimeout = TimeSpan.FromHours(1);
                o.ShutdownTimeout = TimeSpan.Zero;
            }, fakeTime: true);
            h.Emulator.EnqueueFaults(Bento.Emulator.Fault.Delayed(TimeSpan.FromHours(2)));
            for (var i = 0; i < 10; i++) h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i));
            await PipelineUnderTest.Until(() => h.Emulator.RequestsStarted == 1); // the first batch is stuck in flight
            var accepted = 0;
            for (var i = 10; i < 30; i++) if (h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i))) accepted++;
            Assert.Equal(10, accepted);
            Assert.Equal(10, h.Counters.Dropped(DropReason.QueueFull));
            Assert.Contains("queue_full", h.Diagnostics.All);
            await h.Pipeline.DisposeAsync();
            Assert.Equal(20, h.Counters.Dropped(DropReason.Shutdown));
            h.AssertAccounted();
        }

        [Fact]
        public async Task Dispose_delivers_everything_queued()
        {
            await using var h = await PipelineUnderTest.StartAsync(o => o.Period = TimeSpan.FromHours(1));
            for (var i = 0; i < 5000; i++) h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i));
            await h.Pipeline.DisposeAsync();
            Assert.Equal(5000, h.Emulator.EventCount);
            await h.Pipeline.DisposeAsync(); // idempotent
            Assert.False(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(1)));
            Assert.Equal(1, h.Counters.Dropped(DropReason.Shutdown));
            h.AssertAccounted();
        }

        [Fact]
        public async Task Dispose_against_a_dead_server_returns_within_the_shutdown_timeout_and_counts_the_rest()
        {
            var port = FreePort();
            var diagnostics = new ListDiagnostics();
            var settings = new BentoOptions
            {
                SiteUuid = "s", PublishableKey = "p", SecretKey = "k",
                Endpoint = new Uri($"http://127.0.0.1:{port}/api/v1"),
                Period = TimeSpan.FromHours(1),
                ShutdownTimeout = TimeSpan.FromSeconds(1),
            }.Validate();
            var pipeline = new Delivery.BentoPipeline<TestEvent>(settings, new TestFormatter(), diagnostics, "tests");
            for (var i = 0; i < 3000; i++) pipeline.TryEnqueue(PipelineUnderTest.Numbered(i));
            var sw = System.Diagnostics.Stopwatch.StartNew();
            await pipeline.DisposeAsync();
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"dispose took {sw.Elapsed}");
            Assert.Equal(0, pipeline.Counters.Sent);
            Assert.Equal(3000, pipeline.Counters.Dropped(DropReason.Shutdown));
            Assert.Contains("shutdown", diagnostics.All);
        }

        [Fact]
        public async Task A_hard_stop_in_the_middle_of_a_split_batch_counts_each_event_once()
        {
            await using var h = await PipelineUnderTest.StartAsync(o => { o.Period = TimeSpan.FromHours(1); o.ShutdownTimeout = TimeSpan.FromMilliseconds(500); o.RequestTimeout = TimeSpan.FromHours(1); });
            // 400 splits the batch; the first half goes through; the second half hangs until the hard stop.
            h.Emulator.EnqueueFaults(Bento.Emulator.Fault.WithStatus(400), Bento.Emulator.Fault.Delayed(TimeSpan.Zero), Bento.Emulator.Fault.Delayed(TimeSpan.FromHours(1)));
            for (var i = 0; i < 1000; i++) h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i));
            var flush = h.Pipeline.FlushAsync();
            await PipelineUnderTest.Until(() => h.Emulator.RequestsStarted == 3);
            await h.Pipeline.DisposeAsync();
            Assert.Equal(500, h.Counters.Sent);
            Assert.Equal(500, h.Counters.Dropped(DropReason.Shutdown));
            Assert.Equal(1000, h.Counters.Sent + h.Counters.DroppedTotal);
            await flush;
        }

        private static int FreePort()
        {
            var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            l.Start();
            var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            return port;
        }
    }
}
