using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Delivery;
using BentoSinks.Diagnostics;
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

        // ----- Production-like fleets (issue 21): each instance its own pipeline, period, budget and clock view -----

        /// <summary>One instance of the fleet: its load, when it runs, and (durable) its buffer directory.</summary>
        private sealed class Member
        {
            public Member(double eventsPerSecond, TimeSpan start, TimeSpan? stop = null, string? directory = null, Member? replaces = null)
            {
                EventsPerSecond = eventsPerSecond;
                Start = start;
                Stop = stop;
                Directory = directory;
                Replaces = replaces;
            }

            public double EventsPerSecond { get; }
            public TimeSpan Start { get; }
            public TimeSpan? Stop { get; }
            public string? Directory { get; }
            /// <summary>A deploy: this instance starts on the directory of <see cref="Replaces"/> once that one has stopped.</summary>
            public Member? Replaces { get; }
            public BentoPipeline<TestEvent>? Pipeline;
            public Task? Stopping;
            public double Carry;
        }

        /// <summary>What a fleet run measured.</summary>
        private sealed class FleetResult
        {
            public int Events;
            public long Dropped;
            public int Requests;
            public int Throttled;
            public int Accepted;
            /// <summary>Requests and 429s after the first 3 minutes (the fleet has settled).</summary>
            public int SettledRequests;
            public int SettledThrottled;
            public double SettledShare => SettledRequests == 0 ? 0 : (double)SettledThrottled / SettledRequests;
            public double EventsPerRequest;
            public TimeSpan DelayP50;
            public TimeSpan DelayP99;
            public double ThrottledShare => Requests == 0 ? 0 : (double)Throttled / Requests;

            public string Row(string fleet, string load) =>
                $"| {fleet} | {load} | {Events:N0} | {Requests:N0} | {Throttled:N0} ({ThrottledShare:P1}) | {SettledThrottled:N0} of {SettledRequests:N0} ({SettledShare:P1}) | {EventsPerRequest:N0} | {DelayP50.TotalSeconds:0} s / {DelayP99.TotalSeconds:0} s | {(Dropped == 0 ? "yes" : $"no: {Dropped:N0} counted `shutdown`, none twice")} |";
        }

        /// <summary>
        /// Runs <paramref name="members"/> against one account allowing 100 requests a minute for <paramref name="duration"/> of
        /// a fake clock, in 1 s steps, then stops every instance still running at once (a joint shutdown, default
        /// <c>ShutdownTimeout</c>). Asserts that every event arrived exactly once and nothing was dropped.
        /// </summary>
        /// <param name="finalStopMayCount">Memory mode past the gentle start: the final joint stop may count events <c>shutdown</c>
        /// (nothing else, none twice, every one counted); reported in the row.</param>
        private async Task<FleetResult> RunFleetAsync(IReadOnlyList<Member> members, TimeSpan duration, bool finalStopMayCount = false)
        {
            var time = FakeClock.New();
            var second = TimeSpan.FromSeconds(1);
            // Long runs keep every event (the default keeps the first million), so that exactly once is checked for each.
            await using var emulator = await BentoEmulator.StartAsync(new BentoEmulatorOptions
            {
                TimeProvider = time, RateLimitPerMinute = 100, MaxRecordedEvents = int.MaxValue, MaxRetainedBytes = 4L << 30,
            });
            var pipelines = new List<BentoPipeline<TestEvent>>();
            var sent = 0;
            bool Busy() => pipelines.Any(p => p.Counters.Requests > p.Counters.Answered);
            try
            {
                var steps = (int)duration.TotalSeconds;
                for (var step = 0; step <= steps; step++)
                {
                    var now = TimeSpan.FromSeconds(step);
                    var last = step == steps;
                    foreach (var m in members)
                    {
                        if (m.Pipeline is null && m.Stopping is null && now >= m.Start && !last && (m.Replaces is null || (m.Replaces.Stopping?.IsCompleted ?? false)))
                        {
                            var options = new BentoOptions();
                            EmulatorOptions.PointAt(options, emulator);
                            // A process of its own: its own view of the clock, so its own budget and shutdown window.
                            options.TimeProvider = new ClockView(time);
                            options.BufferDirectory = m.Directory;
                            m.Pipeline = new BentoPipeline<TestEvent>(options.Validate(), new TestFormatter(), new ListDiagnostics(), "fleet");
                            pipelines.Add(m.Pipeline);
                        }
                        if (m.Pipeline is null || m.Stopping != null) continue;
                        if (last || (m.Stop is { } stop && now >= stop))
                        {
                            m.Stopping = m.Pipeline.ShutdownAsync(null);
                            continue;
                        }
                        m.Carry += m.EventsPerSecond;
                        for (; m.Carry >= 1; m.Carry--)
                        {
                            var n = sent++;
                            Assert.True(m.Pipeline.TryEnqueue(new TestEvent
                            {
                                Email = $"user{n % 500}@example.com",
                                Details = new Dictionary<string, object?> { ["n"] = n, ["t"] = step },
                            }));
                        }
                    }
                    if (!last) await emulator.AdvanceClockUntilAsync(() => false, () => time.Advance(second), maxSteps: 1, clientBusy: Busy);
                }
                var stopped = Task.WhenAll(members.Where(m => m.Stopping != null).Select(m => m.Stopping!));
                Assert.True(await emulator.PumpAsync(time, () => stopped.IsCompleted, second, 3_600, Busy), "the fleet did not stop within an hour");
                // Durable instances leave on disk what the joint shutdown could not send (counted deferred): one more process
                // on each directory sends it, so that every event can be checked.
                var deferred = pipelines.Sum(p => p.Counters.Deferred);
                var nextProcesses = new List<BentoPipeline<TestEvent>>();
                foreach (var directory in members.Select(m => m.Directory).Where(d => d != null).Distinct())
                {
                    var options = new BentoOptions();
                    EmulatorOptions.PointAt(options, emulator);
                    options.TimeProvider = new ClockView(time);
                    options.BufferDirectory = directory;
                    nextProcesses.Add(new BentoPipeline<TestEvent>(options.Validate(), new TestFormatter(), new ListDiagnostics(), "fleet")); // the same kind: its subfolder holds what the last process left
                }
                pipelines.AddRange(nextProcesses);
                if (nextProcesses.Count > 0)
                {
                    await emulator.PumpAsync(time, () => emulator.EventCount >= sent, second, 1_800, Busy);
                    var nextStopped = Task.WhenAll(nextProcesses.Select(p => p.ShutdownAsync(null)));
                    Assert.True(await emulator.PumpAsync(time, () => nextStopped.IsCompleted, second, 600, Busy), "the next processes did not stop");
                }
                if (deferred > 0) _output.WriteLine($"  ({deferred:N0} events left on disk at the final joint shutdown, sent by the next process on each directory)");

                var events = emulator.Events;
                var numbers = events.Select(e => e.Detail("n")!.Value.GetInt32()).ToArray();
                var dropped = pipelines.Sum(p => p.Counters.DroppedTotal);
                var why = $"{sent} events logged, {emulator.EventCount} received, {dropped} dropped: " + string.Join("; ", pipelines.Where(p => p.Counters.DroppedTotal > 0).Select(p => p.Counters.ToString()));
                var perMinute = emulator.Requests.GroupBy(r => (int)(r.At - FakeClock.Start).TotalMinutes).OrderBy(g => g.Key);
                _output.WriteLine("  requests a minute (answered 429): " + string.Join(", ", perMinute.Select(g => $"{g.Count()} ({g.Count(r => r.Status == 429)})")));
                // Never twice; and every event either received or (where allowed) counted: nothing lost silently.
                Assert.Equal(numbers.Length, numbers.Distinct().Count());
                var shutdown = pipelines.Sum(p => p.Counters.Dropped(DropReason.Shutdown));
                if (finalStopMayCount) Assert.True(sent == numbers.Length + dropped && dropped == shutdown, why);
                else Assert.True(sent == numbers.Length && dropped == 0, why);

                var delays = events.Select(e => e.ReceivedAt - (FakeClock.Start + TimeSpan.FromSeconds(e.Detail("t")!.Value.GetInt32()))).OrderBy(d => d).ToArray();
                var requests = emulator.Requests;
                var result = new FleetResult
                {
                    Events = sent,
                    Requests = requests.Count,
                    Throttled = requests.Count(r => r.Status == 429),
                    Accepted = requests.Count(r => r.Status == 200),
                };
                var settled = requests.Where(r => r.At >= FakeClock.Start + TimeSpan.FromMinutes(3)).ToList();
                result.SettledRequests = settled.Count;
                result.Dropped = dropped;
                result.SettledThrottled = settled.Count(r => r.Status == 429);
                result.EventsPerRequest = (double)sent / Math.Max(1, result.Accepted);
                result.DelayP50 = delays[(int)(0.50 * (delays.Length - 1))];
                result.DelayP99 = delays[(int)(0.99 * (delays.Length - 1))];
                return result;
            }
            finally
            {
                foreach (var m in members)
                {
                    if (m.Pipeline is null) continue;
                    var stop = m.Stopping ?? m.Pipeline.ShutdownAsync(TimeSpan.Zero);
                    await emulator.PumpWhileAsync(time, stop, second, 100);
                }
            }
        }

        private void Report(string fleet, string load, TimeSpan duration, FleetResult r)
        {
            _output.WriteLine(r.Row(fleet, load));
            _output.WriteLine($"  ({duration.TotalMinutes:0} min of fake clock then a joint shutdown; {r.Accepted:N0} accepted; share answered 429 {r.ThrottledShare:P2}; " +
                              $"{r.EventsPerRequest:0.0} events per accepted request; delay p50 {r.DelayP50.TotalSeconds:0.0} s, p99 {r.DelayP99.TotalSeconds:0.0} s)");
        }

        /// <summary>Issue 21's goals, each run: at most 5% of requests answered 429, delivery delay p99 within 2 minutes.</summary>
        private static void AssertGoals(FleetResult r)
        {
            Assert.True(r.ThrottledShare <= 0.05, $"{r.ThrottledShare:P1} of requests answered 429");
            Assert.True(r.DelayP99 <= TimeSpan.FromMinutes(2), $"delay p99 {r.DelayP99}");
        }

        /// <summary>A run's fake-clock length: <paramref name="defaultMinutes"/>, or BENTO_FLEET_MINUTES (60 measures the fleets past their gentle start, benchmarks/README.md).</summary>
        private static TimeSpan FleetDuration(int defaultMinutes)
            => TimeSpan.FromMinutes(int.TryParse(Environment.GetEnvironmentVariable("BENTO_FLEET_MINUTES"), out var m) && m > 0 ? m : defaultMinutes);

        /// <summary>Runs <paramref name="run"/> with a new temporary folder for the instances' buffer directories, deleted after.</summary>
        private static async Task<FleetResult> InTemporaryRootAsync(Func<string, Task<FleetResult>> run)
        {
            var root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "bento-fleet-" + Guid.NewGuid().ToString("N"));
            try
            {
                return await run(root);
            }
            finally
            {
                try { System.IO.Directory.Delete(root, recursive: true); } catch (System.IO.IOException) { }
            }
        }

        private static List<Member> Uniform(int instances, double eventsPerSecond)
            => Enumerable.Range(0, instances).Select(_ => new Member(eventsPerSecond, TimeSpan.Zero)).ToList();

        [Theory]
        // Many small instances: a partial batch every Period each; the first two ask the account for 120 and 300
        // requests a minute at the default Period, the last one 60% of its events (60,000 a minute).
        [InlineData(20, 1.0)]
        [InlineData(50, 10.0)]
        [InlineData(20, 50.0)]
        // A few large ones, 60% of the account's events between them.
        [InlineData(4, 250.0)]
        public async Task A_fleet_of_separate_instances_stays_under_the_account_limit_with_default_settings(int instances, double eventsPerSecond)
        {
            var duration = FleetDuration(10);
            var r = await RunFleetAsync(Uniform(instances, eventsPerSecond), duration);
            Report($"{instances} × {eventsPerSecond} events/s", $"{instances * eventsPerSecond * 60 / 100_000:P0} of the account's events", duration, r);
            // At most 5% answered 429 over the whole run, start-up included: a new instance's partial batches go at most every
            // 40 s (gentle start), so 50 quiet instances ask 75 requests a minute, not 300 (13% answered 429 before, 5% for 20 x 1).
            AssertGoals(r);
            // Where the load fills a batch within a minute (20 s for 50 events/s), requests are full: a partial batch waits
            // 40 s while gentle, 60 s while contended (600 events a request before issue 21; the first batch and the
            // shutdown's partial batches count too).
            if (eventsPerSecond * 60 >= 1_000) Assert.True(r.EventsPerRequest >= 900, $"{r.EventsPerRequest:0} events per request");
        }

        [Theory]
        // Past the gentle start (15-25 min): 50 quiet instances whose Period asks the account for 300 requests a minute. The
        // gentle phase ends in a slow climb, so the fleet finds the account full a few instances at a time (before: all at
        // once, 4.4% answered 429 over 30 min, p99 92 s, 1,510 events counted `shutdown` at the final joint stop).
        // In memory mode the final joint stop, 50 instances asking for 50 requests within ShutdownTimeout while the account
        // runs at 80-90 a minute, may count a few events `shutdown` (counted, none twice); with BufferDirectory it leaves
        // them on disk and every event arrives exactly once.
        [InlineData(50, 10.0, false)]
        [InlineData(50, 10.0, true)]
        public async Task A_fleet_past_its_gentle_start_climbs_back_slowly_and_stays_under_the_account_limit(int instances, double eventsPerSecond, bool durable)
        {
            var duration = FleetDuration(40);
            var r = await InTemporaryRootAsync(root => RunFleetAsync(
                Enumerable.Range(0, instances)
                    .Select(i => new Member(eventsPerSecond, TimeSpan.Zero, directory: durable ? System.IO.Path.Combine(root, "instance-" + i) : null)).ToList(),
                duration, finalStopMayCount: !durable));
            Report($"{instances} × {eventsPerSecond} events/s for {duration.TotalMinutes:0} min{(durable ? ", durable" : "")}", $"{instances * eventsPerSecond * 60 / 100_000:P0} of the account's events", duration, r);
            Assert.True(r.Dropped <= r.Events / 1_000, $"{r.Dropped} events counted `shutdown`");
            AssertGoals(r);
        }

        [Fact]
        public async Task One_busy_process_uses_the_whole_account_without_a_429()
        {
            // 1,000 events a second for 90 s with default settings: 20 full batches a minute while running (the ceiling),
            // the backlog at once at disposal (the account not contended): 90 requests in 90 s, none refused.
            var duration = TimeSpan.FromSeconds(90);
            var r = await RunFleetAsync(Uniform(1, 1_000), duration);
            Report("1 × 1,000 events/s for 90 s", "the whole account", duration, r);
            Assert.Equal(90_000, r.Events);
            Assert.Equal(0, r.Throttled);
            Assert.Equal(90, r.Accepted);
        }

        [Fact]
        public async Task A_fleet_whose_instances_start_and_stop_at_random_times_stays_under_the_limit_and_delivers_every_event_exactly_once()
        {
            var random = new Random(21);
            var loads = new[] { 1.0, 1.0, 10.0, 10.0, 50.0, 100.0 };
            var members = new List<Member>();
            for (var i = 0; i < 30; i++)
            {
                var start = TimeSpan.FromSeconds(random.Next(0, 300));
                var life = TimeSpan.FromSeconds(random.Next(120, 600));
                members.Add(new Member(loads[random.Next(loads.Length)], start, start + life));
            }
            var duration = TimeSpan.FromMinutes(12);
            // Exactly once, in memory mode: no instance is halved into a backlog its shutdown cannot send (before the gentle
            // start, busy instances stopping while the account was contended counted up to 28,800 events `shutdown`).
            var r = await RunFleetAsync(members, duration);
            Report("30 instances, random loads (1–100 events/s), random starts and stops", "up to about 30% of the account's events", duration, r);
            // Every start is a new instance that knows nothing of the account; starting gently, none of them tips it over
            // (6% answered 429 and a p99 delay of 3 to 5 minutes before the gentle start and the floor of a request a minute).
            AssertGoals(r);
        }

        [Fact]
        public async Task A_deploy_stops_every_durable_instance_at_once_and_the_new_ones_send_what_the_old_ones_left()
        {
            await InTemporaryRootAsync(async root =>
            {
                var members = new List<Member>();
                var deployAt = TimeSpan.FromMinutes(5);
                for (var i = 0; i < 20; i++)
                {
                    var directory = System.IO.Path.Combine(root, "instance-" + i);
                    var old = new Member(50, TimeSpan.Zero, deployAt, directory);
                    members.Add(old);
                    members.Add(new Member(50, deployAt, null, directory, replaces: old));
                }
                var duration = TimeSpan.FromMinutes(10);
                var r = await RunFleetAsync(members, duration);
                Report("20 × 50 events/s, durable, deployed at 5 min (all stop, 20 new start on their directories)", "60% of the account's events", duration, r);
                // Two start-ups in 10 minutes (the first fleet, then the new one), both gentle: at most 5% answered 429 (3-6% before).
                AssertGoals(r);
                return r;
            });
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
