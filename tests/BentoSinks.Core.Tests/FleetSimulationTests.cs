using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Delivery;
using BentoSinks.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit;
using Xunit.Abstractions;

namespace BentoSinks.Core.Tests
{
    /// <summary>
    /// A fleet: N instances of an app, each with its own pipeline and default settings (as separate processes: no
    /// budget shared between them), against one account limited to 100 requests a minute, on one fake clock. Every
    /// event must arrive exactly once; the share of requests answered 429 and the events per request are reported
    /// (figures in benchmarks/README.md).
    /// </summary>
    public class FleetSimulationTests
    {
        private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(100);
        private readonly ITestOutputHelper _output;

        public FleetSimulationTests(ITestOutputHelper output) => _output = output;

        [Theory]
        // 60% of the account's capacity in events: 10 instances x 100 events/s = 60,000 events a minute (100 x 1,000).
        [InlineData(10, 100.0, 0.10)]
        // 60% of its capacity in requests: 10 quiet instances, each sending a partial batch every Period (10 s).
        [InlineData(10, 1.0, 0.10)]
        // Past the account's capacity in requests (20 quiet instances want 120 a minute): reported, and nothing lost.
        [InlineData(20, 1.0, 1.0)]
        public async Task A_fleet_with_default_settings_delivers_every_event_exactly_once(int instances, double eventsPerSecond, double maxThrottledShare)
        {
            var time = FakeClock.New();
            await using var emulator = await BentoEmulator.StartAsync(new BentoEmulatorOptions { TimeProvider = time, RateLimitPerMinute = 100 });
            var fleet = new List<BentoPipeline<TestEvent>>();
            try
            {
                for (var i = 0; i < instances; i++)
                {
                    var options = new BentoOptions();
                    EmulatorOptions.PointAt(options, emulator);
                    // Each instance its own view of the one clock: a process of its own, with a budget of its own.
                    options.TimeProvider = new ClockView(time);
                    options.RetryTimeLimit = TimeSpan.FromHours(1);
                    fleet.Add(new BentoPipeline<TestEvent>(options.Validate(), new TestFormatter(), new ListDiagnostics(), "fleet"));
                }

                var minutes = 5;
                var sent = 0;
                var carry = new double[instances];
                for (var step = 0; step < minutes * 60 * 10; step++)
                {
                    for (var i = 0; i < instances; i++)
                    {
                        carry[i] += eventsPerSecond * Step.TotalSeconds;
                        for (; carry[i] >= 1; carry[i]--)
                            Assert.True(fleet[i].TryEnqueue(new TestEvent { Email = $"user{sent % 500}@example.com", Details = new Dictionary<string, object?> { ["n"] = sent++ } }));
                    }
                    await emulator.AdvanceClockUntilAsync(() => false, () => time.Advance(Step), maxSteps: 1,
                        clientBusy: () => fleet.Any(p => p.Counters.Requests > p.Counters.Answered));
                }
                var flushes = fleet.Select(p => p.FlushAsync()).ToArray();
                Assert.True(await emulator.PumpWhileAsync(time, Task.WhenAll(flushes), TimeSpan.FromSeconds(1), 3_600), "the fleet did not settle within an hour");

                var numbers = emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).ToArray();
                Assert.Equal(sent, numbers.Length);
                Assert.Equal(sent, numbers.Distinct().Count());
                Assert.All(fleet, p => Assert.Equal(0, p.Counters.DroppedTotal));

                var requests = emulator.Requests;
                var throttled = requests.Count(r => r.Status == 429);
                var accepted = requests.Count(r => r.Status == 200);
                var share = (double)throttled / requests.Count;
                var span = (time.GetUtcNow() - FakeClock.Start).TotalMinutes;
                _output.WriteLine($"fleet {instances} x {eventsPerSecond} events/s for {minutes} min: {sent} events, {requests.Count} requests " +
                                  $"({accepted} accepted, {throttled} answered 429 = {share:P1}), {(double)sent / accepted:0.0} events per accepted request, " +
                                  $"{requests.Count / span:0.0} requests a minute over {span:0.0} min, all delivered exactly once");
                Assert.True(share <= maxThrottledShare, $"{share:P1} of requests were throttled");
            }
            finally
            {
                foreach (var p in fleet)
                {
                    var stop = p.ShutdownAsync(TimeSpan.Zero);
                    await emulator.PumpWhileAsync(time, stop, TimeSpan.FromSeconds(1), 100);
                }
            }
        }

        /// <summary>A distinct <see cref="TimeProvider"/> on a shared fake clock.</summary>
        private sealed class ClockView : TimeProvider
        {
            private readonly FakeTimeProvider _clock;
            public ClockView(FakeTimeProvider clock) => _clock = clock;
            public override DateTimeOffset GetUtcNow() => _clock.GetUtcNow();
            public override long GetTimestamp() => _clock.GetTimestamp();
            public override long TimestampFrequency => _clock.TimestampFrequency;
            public override TimeZoneInfo LocalTimeZone => _clock.LocalTimeZone;
            public override System.Threading.ITimer CreateTimer(System.Threading.TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
                => _clock.CreateTimer(callback, state, dueTime, period);
        }
    }
}
