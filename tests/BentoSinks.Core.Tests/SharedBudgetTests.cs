using System;
using System.Linq;
using System.Threading.Tasks;
using BentoSinks.Delivery;

namespace BentoSinks.Core.Tests
{
    public class SharedBudgetTests
    {
        [Fact]
        public async Task Two_pipelines_of_one_account_together_stay_within_one_budget()
        {
            await using var h = await PipelineUnderTest.StartAsync(o => { o.MaxRequestsPerMinute = 20; o.BatchSizeLimit = 100; o.Period = TimeSpan.FromSeconds(1); }, fakeTime: true);
            var options = new BentoOptions
            {
                SiteUuid = h.Emulator.Options.SiteUuid,
                PublishableKey = h.Emulator.Options.PublishableKey,
                SecretKey = h.Emulator.Options.SecretKey,
                Endpoint = h.Emulator.ApiBase,
                MaxRequestsPerMinute = 20,
                BatchSizeLimit = 100,
                Period = TimeSpan.FromSeconds(1),
                TimeProvider = h.Time!,
            };
            await using var second = new BentoPipeline<TestEvent>(options.Validate(), new TestFormatter(), new ListDiagnostics(), "tests-second");
            for (var i = 0; i < 2000; i++)
            {
                h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i));
                second.TryEnqueue(PipelineUnderTest.Numbered(100_000 + i));
            }
            await h.Emulator.AdvanceClockUntilAsync(() => h.Emulator.EventCount == 4000, () => h.Time!.Advance(TimeSpan.FromSeconds(1)), maxSteps: 2000,
                clientBusy: () => h.Counters.Requests > h.Counters.Answered || second.Counters.Requests > second.Counters.Answered);

            var at = h.Emulator.Requests.Select(r => r.At).OrderBy(t => t).ToArray();
            Assert.Equal(40, at.Length); // full batches: 4,000 events in 40 requests, none refused
            // Any 60 s window holds at most the one budget's 20 requests (+1 at the window's edge), not 2 × 20.
            for (var i = 0; i < at.Length; i++)
                Assert.True(at.Count(t => t >= at[i] && t < at[i] + TimeSpan.FromSeconds(60)) <= 21, $"more than 21 requests in the minute from {at[i]:T}");
            Assert.Equal(4000, h.Emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).Distinct().Count());
        }
    }
}
