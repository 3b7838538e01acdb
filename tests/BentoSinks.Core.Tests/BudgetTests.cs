using System;
using System.Linq;
using System.Threading.Tasks;

namespace BentoSinks.Core.Tests
{
    public class BudgetTests
    {
        [Fact]
        public async Task A_burst_against_a_rate_limited_account_arrives_in_full_batches_and_the_pipeline_adapts()
        {
            await using var h = await PipelineUnderTest.StartAsync(o =>
            {
                o.Period = TimeSpan.FromSeconds(10);
                o.MaxRequestsPerMinute = 20;
            }, e => e.RateLimitPerMinute = 6, fakeTime: true);
            for (var i = 0; i < 50_000; i++) Assert.True(h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i)));
            await h.PumpUntil(() => h.Emulator.EventCount == 50_000, TimeSpan.FromSeconds(2), maxSteps: 20_000);

            var requests = h.Emulator.Requests;
            var accepted = requests.Where(r => r.Status == 200).ToList();
            Assert.Equal(50, accepted.Count);
            Assert.All(accepted, r => Assert.Equal(1000, r.EventCount));
            var refused = requests.Count(r => r.Status == 429);
            Assert.InRange(refused, 1, 6);
            // Once adapted, requests are rarely refused: a backlog (full batches waiting on the budget) raises the rate again
            // step by step, so a process that wants more than the account allows probes it now and then (RequestBudget).
            Assert.InRange(requests.Skip(requests.Count - 25).Count(r => r.Status == 429), 0, 2);
            Assert.Equal(50_000, h.Emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).Distinct().Count());
        }

        [Fact]
        public async Task While_the_budget_is_spent_events_keep_filling_the_batch()
        {
            await using var h = await PipelineUnderTest.StartAsync(o =>
            {
                o.Period = TimeSpan.FromSeconds(1);
                o.MaxRequestsPerMinute = 2; // one request every 30 s
            }, fakeTime: true);
            // The first request goes at once (a flush ignores period and budget) and without moving the clock.
            h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(0));
            var first = h.Time!.GetUtcNow();
            await h.Pipeline.FlushAsync();
            Assert.Equal(first, h.Emulator.Requests[0].At);
            // More events trickle in, one a second: the 1 s period passes many times, but the budget holds them together.
            var n = 1;
            while (h.Time.GetUtcNow() - first < TimeSpan.FromSeconds(25))
            {
                h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(n++));
                await PipelineUnderTest.Until(() => h.Pipeline.IsParked(out _));
                h.Time.Advance(TimeSpan.FromSeconds(1));
            }
            await PipelineUnderTest.Until(() => h.Pipeline.IsParked(out _));
            Assert.Single(h.Emulator.Requests);
            await h.PumpUntil(() => h.Emulator.EventCount == n, TimeSpan.FromSeconds(1));
            Assert.Equal(new[] { 1, n - 1 }, h.Emulator.Requests.Select(r => r.EventCount).ToArray());
            var gap = h.Emulator.Requests[1].At - first;
            Assert.True(gap >= TimeSpan.FromSeconds(29), $"gap {gap}");
        }
    }
}
