using System;
using System.Linq;
using System.Threading.Tasks;
using BentoSinks.Delivery;
using BentoSinks.Testing;
using Bento.Emulator;

namespace BentoSinks.Core.Tests
{
    /// <summary>
    /// The request budget at disposal (a 429's spread redrawn within the time left) and shared by several pipelines of one
    /// account: a 429 that comes during disposal, a sharer that is not disposing, a quiet sharer beside a busy one.
    /// </summary>
    public class BudgetAtDisposalAndSharedTests
    {
        /// <summary>A request spent every <paramref name="every"/> for <paramref name="span"/>, each answered 2xx.</summary>
        private static void SendEvery(Microsoft.Extensions.Time.Testing.FakeTimeProvider time, RequestBudget budget, TimeSpan every, TimeSpan span)
        {
            for (var t = TimeSpan.Zero; t < span; t += every)
            {
                Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true));
                budget.OnSuccess();
                time.Advance(every);
            }
        }

        [Fact]
        public void A_429_during_disposal_leaves_room_for_a_request_when_its_Retry_After_ends_before_the_deadline()
        {
            // The pipeline asks ShutdownAllowance first (before the retry's pause), not TryTake: it must see the redrawn spread
            // too, or a 429 during disposal ends the disposal although its Retry-After leaves time for the retry.
            var given = 0;
            for (var seed = 1; seed <= 40; seed++)
            {
                var time = FakeClock.New();
                var budget = new RequestBudget(time, 20, new Random(seed));
                SendEvery(time, budget, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(1));
                Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: false, full: false, partialBatch: true, TimeSpan.FromSeconds(9)));
                budget.OnThrottled(TimeSpan.FromSeconds(1));
                if (budget.TryTake(honourSpacing: false) > TimeSpan.FromSeconds(7)) given++;
                Assert.True(budget.ShutdownAllowance(TimeSpan.FromSeconds(9)) >= 1, $"seed {seed}: no request allowed within 9 s after a 429 with Retry-After 1 s");
                var wait = budget.TryTake(honourSpacing: false, full: false, partialBatch: false, TimeSpan.FromSeconds(9));
                Assert.InRange(wait, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(7));
            }
            Assert.True(given > 20, $"only {given} of 40 spreads ended past the deadline: the test does not walk the redraw");
        }

        [Fact]
        public async Task A_429_during_disposal_is_retried_within_the_shutdown_time_when_its_Retry_After_allows()
        {
            // The budget's randomness is not seeded through the pipeline: three rounds, each with a spread of up to 15 s after
            // a 429 whose Retry-After is 1 s and 4 s left (a spread past 2 s, four in five, must be redrawn to fit).
            for (var round = 0; round < 3; round++)
            {
                await using var h = await PipelineUnderTest.StartAsync(o =>
                {
                    o.Period = TimeSpan.FromSeconds(10);
                    o.MaxRequestsPerMinute = 2;
                    o.ShutdownTimeout = TimeSpan.FromSeconds(4);
                }, fakeTime: true);
                Assert.True(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(0)));
                await h.Pipeline.FlushAsync();
                h.Time!.Advance(TimeSpan.FromSeconds(50));
                for (var i = 1; i < 10; i++) Assert.True(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i)));
                h.Emulator.EnqueueFaults(Fault.WithStatus(429, "1"));
                var disposing = h.Pipeline.ShutdownAsync(null);
                Assert.True(await h.Emulator.PumpWhileAsync(h.Time, disposing, TimeSpan.FromMilliseconds(100), 100), "disposal did not end");
                await disposing;
                Assert.Equal(new[] { 200, 429, 200 }, h.Emulator.Requests.Select(r => r.Status).ToArray());
                Assert.Equal(10, h.Emulator.EventCount);
                Assert.Equal(0, h.Counters.DroppedTotal);
                h.AssertAccounted();
            }
        }

        [Fact]
        public void A_pipeline_disposing_does_not_shorten_a_429s_spread_for_a_pipeline_of_the_account_that_is_not()
        {
            var trimmed = 0;
            for (var seed = 1; seed <= 40; seed++)
            {
                var time = FakeClock.New();
                var budget = new RequestBudget(time, 20, new Random(seed));
                SendEvery(time, budget, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(1));
                Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true));
                budget.OnThrottled(TimeSpan.FromSeconds(5));
                var block = budget.TryTake(honourSpacing: false);
                // One pipeline of the process disposes with 9 s left: its own wait is redrawn within 7 s...
                var disposing = budget.TryTake(honourSpacing: false, full: false, partialBatch: false, TimeSpan.FromSeconds(9));
                Assert.True(disposing <= TimeSpan.FromSeconds(7), $"seed {seed}: {disposing}");
                if (disposing < block) trimmed++;
                // ...while another, not disposing, keeps the whole spread (a flush of it, and its next batch).
                Assert.Equal(block, budget.TryTake(honourSpacing: false));
                Assert.True(budget.TryTake(honourSpacing: true, full: true) >= block, $"seed {seed}: the spread of a pipeline not disposing was cut to {disposing}");
                // The disposing one keeps its redrawn wait (drawn once, not again on every look).
                Assert.Equal(disposing, budget.TryTake(honourSpacing: false, full: false, partialBatch: false, TimeSpan.FromSeconds(9)));
            }
            Assert.True(trimmed > 20, $"only {trimmed} of 40 spreads were redrawn");
        }

        [Fact]
        public void A_quiet_pipeline_beside_a_busy_one_of_the_same_account_still_sends_its_partial_batches()
        {
            var time = FakeClock.New();
            var account = "https://app.bentonow.com|quiet-beside-busy-" + Guid.NewGuid().ToString("N");
            using var busy = RequestBudget.Acquire(account, time, 100);
            using var quiet = RequestBudget.Acquire(account, time, 100);
            Assert.Same(busy.Budget, quiet.Budget);
            var budget = busy.Budget;
            // Past the gentle start (at most 2 x 12.5 minutes).
            time.Advance(TimeSpan.FromMinutes(30));
            var quietSent = 0;
            // Ten minutes: the busy pipeline sends a full batch every 1.5 s (40 of the account's 100 a minute); the quiet one's
            // partial batch asks in between, every 1.5 s too (the real loop asks less often: when its wait ends).
            for (var t = TimeSpan.Zero; t < TimeSpan.FromMinutes(10); t += TimeSpan.FromSeconds(1.5))
            {
                Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: true, partialBatch: false));
                budget.OnSuccess();
                time.Advance(TimeSpan.FromSeconds(0.75));
                if (budget.TryTake(honourSpacing: true, full: false, partialBatch: true) <= TimeSpan.Zero) quietSent++;
                time.Advance(TimeSpan.FromSeconds(0.75));
            }
            // Gentle: a partial batch at most every 40 s x jitter per pipeline, but not never.
            Assert.True(quietSent >= 10, $"the quiet pipeline sent {quietSent} partial batches in ten minutes beside a busy one");
        }
    }
}
