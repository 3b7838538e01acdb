using System;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Diagnostics;
using Xunit;

namespace BentoSinks.Core.Tests
{
    /// <summary>
    /// The channel holds at most <c>QueueLimit</c> events plus a fixed room for flush markers. Flushes beyond that room
    /// wait for it; none completes before the events offered ahead of it have settled, and events are never refused
    /// for want of room while the queue counter has some.
    /// </summary>
    public class ChannelStorageTests
    {
        [Fact]
        public async Task More_flushes_than_the_marker_room_all_wait_for_their_events_and_complete()
        {
            await using var h = await PipelineUnderTest.StartAsync(o => o.QueueLimit = 5, fakeTime: true);
            // The first request is throttled for a minute: the loop is busy with that batch and reads nothing more.
            h.Emulator.EnqueueFaults(Fault.WithStatus(429, "60"));
            for (var i = 0; i < 3; i++) Assert.True(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i)));
            var first = h.Pipeline.FlushAsync();
            await h.PumpUntil(() => h.Emulator.Requests.Count == 1 && h.Pipeline.IsParked(out _), TimeSpan.FromMilliseconds(10));

            for (var i = 3; i < 5; i++) Assert.True(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i)));
            var flushes = Enumerable.Range(0, 1500).Select(_ => h.Pipeline.FlushAsync()).ToArray();
            Assert.Equal(1501, h.Pipeline.FlushesWaiting);
            Assert.False(first.IsCompleted);
            Assert.DoesNotContain(flushes, f => f.IsCompleted);

            await h.PumpUntil(() => first.IsCompleted && flushes.All(f => f.IsCompleted), TimeSpan.FromSeconds(1));
            await Task.WhenAll(flushes.Append(first));
            Assert.Equal(5, h.Emulator.EventCount);
            Assert.Equal(5, h.Counters.Sent);
            Assert.Equal(0, h.Counters.DroppedTotal);
            Assert.Equal(0, h.Pipeline.FlushesWaiting);
            h.AssertAccounted();
        }

        [Fact]
        public async Task A_filling_batch_wakes_the_loop_once_enough_events_are_queued_not_for_each_event()
        {
            await using var h = await PipelineUnderTest.StartAsync(o => o.Period = TimeSpan.FromHours(1), fakeTime: true);
            Assert.True(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(0)));
            await PipelineUnderTest.Until(() => h.Pipeline.IsParked(out _));
            Assert.True(h.Pipeline.IsParked(out var parks));

            // 998 more: not enough to fill the batch of 1,000, so the loop sleeps on (it would have woken for each).
            for (var i = 1; i < 999; i++) Assert.True(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i)));
            Assert.True(h.Pipeline.IsParked(out var parksAfter), "the loop woke before the batch could be filled");
            Assert.Equal(parks, parksAfter);
            Assert.Equal(0, h.Emulator.RequestCount);

            // The 1,000th: the batch can be full, so the loop wakes and sends it without waiting for the hour.
            Assert.True(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(999)));
            await h.Emulator.WaitForEventsAsync(1000, TimeSpan.FromSeconds(20));
            Assert.Equal(1, h.Emulator.RequestCount);
            h.AssertAccounted();
        }

        [Fact]
        public async Task A_batch_full_by_bytes_wakes_the_loop_without_waiting_for_the_period()
        {
            await using var h = await PipelineUnderTest.StartAsync(o =>
            {
                o.Period = TimeSpan.FromHours(1);
                o.MaxRequestBytes = 8 * 1024;
            });
            var pad = new string('x', 2000);
            TestEvent Big(int i) => new TestEvent { Details = new System.Collections.Generic.Dictionary<string, object?> { ["n"] = i, ["pad"] = pad } };
            Assert.True(h.Pipeline.TryEnqueue(Big(0)));
            await PipelineUnderTest.Until(() => h.Pipeline.IsParked(out _)); // one event in the batch, waiting to fill
            for (var i = 1; i < 12; i++) Assert.True(h.Pipeline.TryEnqueue(Big(i))); // 12 x 2 KB: past one request's 8 KB
            // Within the hour's period, at least the first, byte-full request goes.
            await h.Emulator.WaitForRequestsAsync(1, TimeSpan.FromSeconds(30));
            Assert.True(h.Emulator.EventCount >= 3);
        }

        [Fact]
        public async Task Abandoned_flushes_never_take_the_room_of_events()
        {
            await using var h = await PipelineUnderTest.StartAsync(o =>
            {
                o.QueueLimit = 100;
                o.RequestTimeout = TimeSpan.FromSeconds(60);
                o.ShutdownTimeout = TimeSpan.FromSeconds(1); // the stalled request is cut at disposal
            });
            h.Emulator.SetRandomFaults(1.0, 1, Fault.Delayed(TimeSpan.FromHours(1))); // Bento stalls
            Assert.True(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(0)));
            await h.Emulator.WaitForRequestsStartedAsync(1); // the loop is in delivery: it reads nothing more
            // ForceFlush(timeout) in a loop during an outage: 1,100 flushes given up on.
            for (var i = 0; i < 1100; i++)
            {
                using var c = new System.Threading.CancellationTokenSource();
                var t = h.Pipeline.FlushAsync(c.Token);
                c.Cancel();
                try { await t; } catch (OperationCanceledException) { }
            }
            var accepted = 0;
            for (var i = 1; i <= 100; i++) if (h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i))) accepted++;
            Assert.Equal(100, accepted);
            Assert.Equal(0, h.Counters.Dropped(DropReason.QueueFull));
        }

        [Fact]
        public async Task A_full_queue_refuses_events_by_count_and_the_channel_is_reused_after_draining()
        {
            await using var h = await PipelineUnderTest.StartAsync(o => o.QueueLimit = 100, fakeTime: true);
            h.Emulator.EnqueueFaults(Fault.WithStatus(429, "60"));
            Assert.True(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(0)));
            await h.PumpUntil(() => h.Emulator.Requests.Count == 1 && h.Pipeline.IsParked(out _), TimeSpan.FromMilliseconds(10));
            // The batch in delivery is out of the queue: 100 more fit, the 101st is refused.
            for (var i = 1; i <= 100; i++) Assert.True(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i)), $"event {i}");
            Assert.False(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(101)));
            Assert.Equal(1, h.Counters.Dropped(DropReason.QueueFull));

            await h.PumpUntil(() => h.Counters.Sent == 101, TimeSpan.FromSeconds(1));
            // Drained: the same room is there again, several times over.
            for (var round = 0; round < 3; round++)
            {
                for (var i = 0; i < 100; i++) Assert.True(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(1000 + round * 100 + i)));
                var flush = h.Pipeline.FlushAsync();
                await h.PumpUntil(() => flush.IsCompleted, TimeSpan.FromMilliseconds(50));
                await flush;
            }
            Assert.Equal(401, h.Emulator.EventCount);
            Assert.Equal(1, h.Counters.DroppedTotal);
            h.AssertAccounted();
        }
    }
}
