using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using BentoSinks.Delivery;
using BentoSinks.Diagnostics;

namespace BentoSinks.Core.Tests
{
    /// <summary>
    /// Disposal against an account whose minute is spent (a fleet's joint shutdown): it sends what the budget allows before
    /// the shutdown deadline and stops as soon as the next request could only go after it, instead of waiting it out.
    /// </summary>
    public class ShutdownUnderRateLimitTests
    {
        private const int First = 10;
        private const int Rest = 20;

        /// <summary>An account allowing one request a minute, the minute spent by a first batch of <see cref="First"/> events; <see cref="Rest"/> more queued.</summary>
        private static async Task<PipelineUnderTest> BlockedAccountAsync(TimeSpan shutdownTimeout, string? directory = null)
        {
            var h = await PipelineUnderTest.StartAsync(o =>
            {
                o.Period = TimeSpan.FromSeconds(10);
                o.ShutdownTimeout = shutdownTimeout;
                o.BufferDirectory = directory;
            }, e => e.RateLimitPerMinute = 1, fakeTime: true);
            for (var i = 0; i < First; i++) Assert.True(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i)));
            await h.Pipeline.FlushAsync();
            Assert.Equal(First, h.Emulator.EventCount);
            for (var i = First; i < First + Rest; i++) Assert.True(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i)));
            return h;
        }

        /// <summary>
        /// Disposal ends while the fake clock stands still (waited for in real time); if it does not, the clock is pumped
        /// so that it ends by its deadline, and the test fails.
        /// </summary>
        private static async Task ReturnsWithoutTheClockMoving(PipelineUnderTest h, Task disposing)
        {
            var early = await SeededCases.EndsWithin(disposing, TimeSpan.FromSeconds(15));
            if (!early) await h.Emulator.PumpWhileAsync(h.Time!, disposing, TimeSpan.FromSeconds(1), 120);
            Assert.True(early, "disposal waited out its shutdown deadline although nothing more could be sent before it");
            await disposing;
        }

        [Fact]
        public async Task Disposal_stops_at_once_when_the_429_block_outlasts_the_shutdown_time_and_counts_the_rest_shutdown()
        {
            await using var h = await BlockedAccountAsync(TimeSpan.FromSeconds(30));
            var before = h.Time!.GetUtcNow();
            // The clock never moves: disposal can only end if it gives up as soon as the 429 says "in 60 s" (> 30 s left).
            var disposing = h.Pipeline.ShutdownAsync(null);
            await ReturnsWithoutTheClockMoving(h, disposing);
            Assert.Equal(before, h.Time.GetUtcNow());

            // One try of the rest (refused: the minute is spent), no burst of retries, and every event accounted for.
            Assert.Equal(new[] { 200, 429 }, h.Emulator.Requests.Select(r => r.Status).ToArray());
            Assert.Equal(First, h.Counters.Sent);
            Assert.Equal(Rest, h.Counters.Dropped(DropReason.Shutdown));
            Assert.Equal(Rest, h.Counters.DroppedTotal);
            h.AssertAccounted();
            Assert.Contains("after the shutdown deadline", h.Diagnostics.All);
        }

        [Fact]
        public async Task Disposal_waits_out_a_429_block_that_ends_before_the_shutdown_deadline_and_sends_everything()
        {
            await using var h = await BlockedAccountAsync(TimeSpan.FromMinutes(2));
            var disposing = h.Pipeline.ShutdownAsync(null);
            Assert.True(await h.Emulator.PumpWhileAsync(h.Time!, disposing, TimeSpan.FromSeconds(1), 200), "disposal did not end");
            Assert.Equal(First + Rest, h.Emulator.EventCount);
            Assert.Equal(0, h.Counters.DroppedTotal);
            Assert.Equal(First + Rest, h.Emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).Distinct().Count());
            // Refused once, then sent once the minute freed its slot (Retry-After): not refused again and again.
            Assert.Equal(new[] { 200, 429, 200 }, h.Emulator.Requests.Select(r => r.Status).ToArray());
        }

        [Fact]
        public async Task Durable_disposal_blocked_past_its_deadline_leaves_the_rest_on_disk_and_the_next_pipeline_sends_it()
        {
            var directory = Path.Combine(Path.GetTempPath(), "bento-shutdown-429-" + Guid.NewGuid().ToString("N"));
            try
            {
                await using var h = await BlockedAccountAsync(TimeSpan.FromSeconds(30), directory);
                var before = h.Time!.GetUtcNow();
                var disposing = h.Pipeline.ShutdownAsync(null);
                await ReturnsWithoutTheClockMoving(h, disposing);
                Assert.Equal(before, h.Time.GetUtcNow());
                Assert.Equal(First, h.Counters.Sent);
                Assert.Equal(0, h.Counters.DroppedTotal);
                Assert.Equal(Rest, h.Counters.Deferred);

                // The next process on the directory sends what was left, once the account's minute has passed.
                h.Time.Advance(TimeSpan.FromMinutes(1));
                var options = new BentoOptions { Period = TimeSpan.FromSeconds(10), BufferDirectory = directory, TimeProvider = h.Time };
                EmulatorOptions.PointAt(options, h.Emulator);
                var next = new BentoPipeline<TestEvent>(options.Validate(), new TestFormatter(), new ListDiagnostics(), "tests");
                try
                {
                    await h.Emulator.PumpUntilAsync(h.Time, () => h.Emulator.EventCount == First + Rest, TimeSpan.FromSeconds(1), 300,
                        FakeClock.Busy(next.Counters), () => next.Counters.ToString());
                }
                finally
                {
                    var stopping = next.ShutdownAsync(null);
                    Assert.True(await h.Emulator.PumpAsync(h.Time, () => stopping.IsCompleted, TimeSpan.FromSeconds(1), 300), "the next pipeline did not stop");
                }
                var numbers = h.Emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).ToArray();
                Assert.Equal(Enumerable.Range(0, First + Rest), numbers.OrderBy(n => n));
                Assert.Equal(0, next.Counters.DroppedTotal);
                Assert.Equal(0, next.Counters.Deferred);
            }
            finally
            {
                try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
            }
        }
    }
}
