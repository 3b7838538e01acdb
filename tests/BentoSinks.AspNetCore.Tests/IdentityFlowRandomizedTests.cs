using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Serilog;
using Xunit.Abstractions;

namespace BentoSinks.AspNetCore.Tests
{
    /// <summary>
    /// The right person or no one, walked at random through the seams: seeded random programs over several flows and
    /// users (Ada, Grace, nobody) push and dispose <see cref="BentoIdentity"/> scopes (nested, in order, out of order, from
    /// another flow, <c>Push(null)</c>, an email that is not one), start <c>Task.Run</c> flows that outlive their scope,
    /// create and fire timers (<see cref="Timer"/> and fake-time ones) made inside scopes, start a <see cref="Channel"/>
    /// job consumer lazily from one user's flow and feed it jobs from other flows (carrying the identity captured when
    /// they were enqueued, the documented recipe, or none), start and stop activities inside and outside scopes, and
    /// write analytics events from every one of these places through Serilog, activity events and OpenTelemetry log
    /// records, all delivered over HTTP to the emulator. Each event carries its id and the user its model says it is
    /// about: the live scope of the flow that wrote it when it was written (or the captured identity), nobody once that
    /// scope has ended. After every step each flow's <see cref="BentoIdentity.Current"/> and <see cref="Activity.Current"/>
    /// match the model; after every program (and at random points in it) every event arrived as exactly its user with
    /// that user's names, or was counted <c>no_email</c> when it is nobody's, and offered = sent + dropped on every path.
    /// The only latitude is the documented one (an activity does not say which flow recorded an event): an activity event
    /// may be nobody's when its activity started outside a live scope, a scope open on it ended while it ran, or scopes of
    /// different users were open on it. A failure names its seed: replay it with <c>BENTO_IDENTITY_SEED=seed</c>.
    /// </summary>
    [Collection("Web")]
    public class IdentityFlowRandomizedTests
    {
        private const string Prefix = "BENTO_IDENTITY";
        private readonly ITestOutputHelper _output;

        public IdentityFlowRandomizedTests(ITestOutputHelper output) => _output = output;

        [Fact]
        public async Task Random_programs_of_scopes_tasks_timers_activities_and_a_job_queue_never_write_as_the_wrong_person()
        {
            var clock = Stopwatch.StartNew();
            var steps = 0;
            await using var rig = await IdentityFlowRig.StartAsync();
            var (cases, baseSeed) = await SeededRuns.RunAsync(Prefix, 3000, async (seed, trace) =>
            {
                var program = new IdentityProgram(rig, seed, trace);
                await program.RunAsync();
                steps += program.Steps;
            });
            _output.WriteLine($"{cases} programs from seed {baseSeed} ({Prefix}_SEED replays one): {steps} steps; {rig.Totals}; {clock.Elapsed.TotalSeconds:0.0} s");
        }

        /// <summary>
        /// Seeds that found misattributions before activity events were resolved by the scopes open on their activity:
        /// 13997359, Ada's event (inside Ada's scope nested in nobody's, on an activity started there) sent as Grace, the
        /// scope the activity stopped in; 14137781, nobody's event on an activity shared with a Task.Run flow in Grace's scope
        /// sent as Grace; 13935245, Ada's event recorded after an inner <c>Push(null)</c> ended, on an activity started
        /// inside it, dropped; 14292532, nobody's event (a Task.Run flow whose scope had ended) on an activity shared with a
        /// flow that pushed Grace later, sent as Grace.
        /// </summary>
        [Theory]
        [InlineData(14292532)]
        [InlineData(13997359)]
        [InlineData(14137781)]
        [InlineData(13935245)]
        public async Task Programs_that_once_sent_an_event_as_the_wrong_person_send_each_as_the_right_one(int seed)
        {
            await using var rig = await IdentityFlowRig.StartAsync();
            await SeededRuns.RunOneAsync(Prefix, seed, (s, trace) => new IdentityProgram(rig, s, trace).RunAsync());
        }
    }

    /// <summary>One seeded program: its model, its steps, and the real flows that run them.</summary>
    internal sealed class IdentityProgram
    {
        private static readonly BentoIdentity Ada = new BentoIdentity("ada@example.com", "Ada", "Lovelace");

        private readonly IdentityFlowRig _rig;
        private readonly Random _random;
        private readonly StringBuilder _trace;
        private readonly int _seed;
        private readonly List<Flow> _flows = new List<Flow>();
        private readonly List<Scope> _scopes = new List<Scope>();
        private readonly List<Act> _activities = new List<Act>();
        private readonly List<TimerModel> _timers = new List<TimerModel>();
        private readonly Queue<Job> _jobs = new Queue<Job>();
        private readonly Channel<Job> _queue = Channel.CreateUnbounded<Job>();
        private Ctx? _consumer;
        private Task? _consumerLoop;
        private int _events;
        private int _jobsMade;

        public IdentityProgram(IdentityFlowRig rig, int seed, StringBuilder trace)
        {
            _rig = rig;
            _seed = seed;
            _random = new Random(seed);
            _trace = trace;
        }

        public int Steps { get; private set; }

        private enum Write { Serilog, Log, ActivityEvent, ShortActivity }

        /// <summary>What the model knows of an execution context: its current scope and its current activity.</summary>
        private class Ctx
        {
            public string Name = "";
            public Scope? Current;
            public Act? Activity;

            public Ctx Copy(string name) => new Ctx { Name = name, Current = Current, Activity = Activity };
        }

        private sealed class Flow : Ctx
        {
            public FlowRunner Runner = null!;
        }

        private sealed class Scope
        {
            public int Id;
            public string? Email;
            public bool Ended;
            public Scope? Previous;
            public Flow Owner = null!;
            public IDisposable Handle = null!;
        }

        /// <summary>An activity, and the scopes open on it: current when it started, or pushed while it (or a descendant) was current.</summary>
        private sealed class Act
        {
            public int Id;
            public Activity Real = null!;
            public Act? Parent;
            public bool Stopped;
            public bool StartedInScope;
            public bool ScopeEndedWhileRunning;
            public readonly List<Scope> Registered = new List<Scope>();
            public readonly List<IdentityFlowRig.Expectation> Events = new List<IdentityFlowRig.Expectation>();
        }

        private sealed class TimerModel
        {
            public int Id;
            public bool Fake;
            public Ctx Captured = null!;
            public ITimer Real = null!;
            public Action? Next;
            public TaskCompletionSource<bool> Fired = new TaskCompletionSource<bool>();

            public void Callback(object? state)
            {
                try
                {
                    Volatile.Read(ref Next)!();
                    Fired.TrySetResult(true);
                }
                catch (Exception ex)
                {
                    Fired.TrySetException(ex);
                }
            }
        }

        private sealed class Job
        {
            public int Id;
            public bool Recipe;
            public string? OwnerEmail;
            public BentoIdentity? Owner;
            public Action? Work;
            public readonly TaskCompletionSource<bool> Go = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            public readonly TaskCompletionSource<bool> Done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        public async Task RunAsync()
        {
            var roots = _random.Next(2, 4);
            for (var i = 0; i < roots; i++)
            {
                var flow = new Flow { Name = "flow#" + _flows.Count, Runner = FlowRunner.StartRoot() };
                _flows.Add(flow);
                if (_random.Next(3) > 0) await PushAsync(flow);
            }
            var count = _random.Next(6, 40);
            for (Steps = 0; Steps < count; Steps++)
            {
                await StepAsync();
                foreach (var flow in _flows) await flow.Runner.RunAsync(Expect(flow)); // after every step: each flow as the model says
            }
            await EndAsync();
        }

        private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

        private void Log(string line) => _trace.Append(Steps).Append(". ").AppendLine(line);

        private async Task StepAsync()
        {
            var flow = Pick(_flows);
            var roll = _random.Next(100);
            var live = _scopes.Where(s => !s.Ended).ToList();
            if (roll < 17) await PushAsync(flow);
            else if (roll < 30 && live.Count > 0) await DisposeScopeAsync(live);
            else if (roll < 53) await WriteInAsync(flow);
            else if (roll < 60) await StartActivityAsync(flow);
            else if (roll < 66 && flow.Activity is { Stopped: false }) await StopActivityAsync(flow);
            else if (roll < 71 && _flows.Count < 7) await SpawnAsync(flow);
            else if (roll < 76 && _timers.Count < 4) await CreateTimerAsync(flow);
            else if (roll < 84 && _timers.Count > 0) await FireTimerAsync(Pick(_timers));
            else if (roll < 92) await EnqueueAsync(flow);
            else if (roll < 98 && _consumer != null && _jobs.Count > 0) await ConsumeAsync();
            else if (roll >= 98)
            {
                Log("deliver and check now");
                await _rig.DeliverAndCheckAsync();
            }
            else await WriteInAsync(flow);
        }

        private static string? Live(Scope? scope) => scope is { Ended: false } ? scope.Email : null;

        /// <summary>The check each step runs first in its real context: the identity and the activity the model expects there.</summary>
        private static Action Expect(Ctx ctx)
        {
            var email = Live(ctx.Current);
            var activity = ctx.Activity?.Real;
            var name = ctx.Name;
            return () =>
            {
                var real = BentoIdentity.Current?.Email;
                if (real != email) throw new InvalidOperationException($"WRONG PERSON: in {name}, BentoIdentity.Current is {IdentityFlowRig.Who(real)}; the model says {IdentityFlowRig.Who(email)}");
                if (!ReferenceEquals(Activity.Current, activity)) throw new InvalidOperationException($"in {name}, Activity.Current is {Activity.Current?.DisplayName ?? "none"}, not the model's");
            };
        }

        private static IEnumerable<Act> Chain(Act? activity)
        {
            for (var a = activity; a != null; a = a.Parent)
            {
                if (!a.Stopped) yield return a;
            }
        }

        // ---- the model's moves, mirroring what the code they describe does to a context ----

        private static void PushModel(Ctx ctx, Scope scope)
        {
            scope.Previous = ctx.Current;
            ctx.Current = scope;
            foreach (var a in Chain(ctx.Activity)) a.Registered.Add(scope);
        }

        private void EndModel(Scope scope, Ctx disposer)
        {
            scope.Ended = true;
            foreach (var a in _activities.Where(a => !a.Stopped && a.Registered.Contains(scope))) a.ScopeEndedWhileRunning = true;
            if (ReferenceEquals(disposer.Current, scope)) disposer.Current = scope.Previous; // else out of order, or another flow: that flow keeps its scope
        }

        private Act StartModel(Ctx ctx)
        {
            var act = new Act { Id = _activities.Count, Parent = ctx.Activity };
            _activities.Add(act);
            if (ctx.Current is { Ended: false } current)
            {
                act.Registered.Add(current);
                act.StartedInScope = true;
            }
            ctx.Activity = act;
            return act;
        }

        private void StopModel(Act act)
        {
            act.Stopped = true;
            foreach (var e in act.Events) _rig.Offered(e);
        }

        private IdentityFlowRig.Expectation Expectation(string eid, string path, Ctx ctx, string what, Act? on = null)
        {
            var email = Live(ctx.Current);
            var mayBeNobody = false;
            if (on != null)
            {
                // The documented latitude (an activity does not say which flow recorded an event): an activity started
                // outside a live scope, a scope open on it that ended while it ran (work that copied that scope records as
                // nobody), or scopes of different users open on it when the event was recorded.
                mayBeNobody = !on.StartedInScope || on.ScopeEndedWhileRunning || on.Registered.Where(s => !s.Ended).Select(s => s.Email).Distinct().Count() > 1;
            }
            return new IdentityFlowRig.Expectation(eid, path, email, mayBeNobody, $"seed {_seed} step {Steps}: {what} in {ctx.Name}, scope {(ctx.Current is null ? "none" : "#" + ctx.Current.Id)}{(mayBeNobody ? ", on an activity that cannot tell who recorded it" : "")}");
        }

        /// <summary>Updates the model for one analytics event written in <paramref name="ctx"/>, and returns the code that writes it there.</summary>
        private Action Emit(Ctx ctx, Write kind)
        {
            if (kind == Write.ActivityEvent && ctx.Activity is not { Stopped: false }) kind = Write.ShortActivity;
            var eid = $"{_seed}:{_events++}";
            var expect = Expect(ctx);
            var who = IdentityFlowRig.Who(Live(ctx.Current));
            switch (kind)
            {
                case Write.Serilog:
                    _rig.Offered(Expectation(eid, IdentityFlowRig.SerilogPath, ctx, "Serilog event " + eid));
                    return () =>
                    {
                        expect();
                        _rig.Serilog.ForAnalytics("flow_serilog").Information("{eid} {expect}", eid, who);
                    };
                case Write.Log:
                    _rig.Offered(Expectation(eid, IdentityFlowRig.LogsPath, ctx, "log record " + eid));
                    return () =>
                    {
                        expect();
#pragma warning disable CA1848, CA2254 // the test's own messages
                        _rig.Logger.LogInformation("{AnalyticsEvent} {eid} {expect}", "flow_log", eid, who);
#pragma warning restore CA1848, CA2254
                    };
                case Write.ActivityEvent:
                {
                    var act = ctx.Activity!;
                    act.Events.Add(Expectation(eid, IdentityFlowRig.TracesPath, ctx, $"event {eid} on activity#{act.Id}", act));
                    return () =>
                    {
                        expect();
                        Activity.Current!.AddEvent(Event(eid, who));
                    };
                }
                default:
                {
                    var parent = ctx.Activity;
                    var act = StartModel(ctx);
                    act.Events.Add(Expectation(eid, IdentityFlowRig.TracesPath, ctx, $"event {eid} on a short activity#{act.Id}", act));
                    StopModel(act);
                    ctx.Activity = parent;
                    var source = _rig.Source;
                    return () =>
                    {
                        expect();
                        using var real = source.StartActivity("short") ?? throw new InvalidOperationException("the activity was not recorded");
                        act.Real = real;
                        real.AddEvent(Event(eid, who));
                    };
                }
            }
        }

        private static ActivityEvent Event(string eid, string who)
            => new ActivityEvent("flow_activity", tags: new ActivityTagsCollection { ["analytics.event"] = true, ["eid"] = eid, ["expect"] = who });

        private Write AnyWrite() => (Write)_random.Next(4);

        // ---- the steps ----

        private async Task PushAsync(Flow flow)
        {
            var user = _random.Next(4);
            var scope = new Scope { Id = _scopes.Count, Owner = flow, Email = user switch { 0 => "ada@example.com", 1 => "grace@example.com", _ => null } };
            _scopes.Add(scope);
            var expect = Expect(flow);
            PushModel(flow, scope);
            Log($"{flow.Name}: push #{scope.Id} {(user == 3 ? "an email that is not one" : IdentityFlowRig.Who(scope.Email))}");
            await flow.Runner.RunAsync(() =>
            {
                expect();
                scope.Handle = user switch
                {
                    0 => BentoIdentity.Push(Ada),
                    1 => BentoIdentity.Push("grace@example.com", "Grace", "Hopper"),
                    2 => BentoIdentity.Push((BentoIdentity?)null),
                    _ => BentoIdentity.Push("not an email", "Mallory"),
                };
            });
        }

        private async Task DisposeScopeAsync(List<Scope> live)
        {
            // Half the time the innermost scope of a flow (in order), otherwise any live one (out of order).
            var innermost = live.Where(s => _flows.Any(f => ReferenceEquals(f.Current, s))).ToList();
            var scope = innermost.Count > 0 && _random.Next(2) == 0 ? Pick(innermost) : Pick(live);
            var disposer = _random.Next(10) < 7 ? scope.Owner : Pick(_flows);
            var expect = Expect(disposer);
            EndModel(scope, disposer);
            Log($"{disposer.Name}: dispose #{scope.Id} (pushed in {scope.Owner.Name})");
            await disposer.Runner.RunAsync(() =>
            {
                expect();
                scope.Handle.Dispose();
            });
        }

        private async Task WriteInAsync(Flow flow)
        {
            var kind = AnyWrite();
            Log($"{flow.Name}: write {kind} as {IdentityFlowRig.Who(Live(flow.Current))}");
            await flow.Runner.RunAsync(Emit(flow, kind));
        }

        private async Task StartActivityAsync(Flow flow)
        {
            var expect = Expect(flow);
            var act = StartModel(flow);
            Log($"{flow.Name}: start activity#{act.Id}");
            var source = _rig.Source;
            await flow.Runner.RunAsync(() =>
            {
                expect();
                act.Real = source.StartActivity("work#" + act.Id) ?? throw new InvalidOperationException("the activity was not recorded");
            });
        }

        private async Task StopActivityAsync(Flow flow)
        {
            var expect = Expect(flow);
            var act = flow.Activity!;
            StopModel(act);
            flow.Activity = act.Parent;
            Log($"{flow.Name}: stop activity#{act.Id} ({act.Events.Count} events)");
            await flow.Runner.RunAsync(() =>
            {
                expect();
                act.Real.Stop();
            });
        }

        private async Task SpawnAsync(Flow flow)
        {
            var child = new Flow { Name = $"flow#{_flows.Count} (Task.Run in {flow.Name})", Current = flow.Current, Activity = flow.Activity };
            Log($"{flow.Name}: Task.Run -> {child.Name}");
            var expect = Expect(flow);
            await flow.Runner.RunAsync(() =>
            {
                expect();
                child.Runner = FlowRunner.StartCopy();
            });
            _flows.Add(child);
        }

        private async Task CreateTimerAsync(Flow flow)
        {
            var timer = new TimerModel { Id = _timers.Count, Fake = _random.Next(3) == 0 };
            timer.Captured = flow.Copy($"{(timer.Fake ? "fake-time timer" : "timer")}#{timer.Id} (made in {flow.Name})");
            if (timer.Fake && !_rig.FakeTimersFlowContext) timer.Captured = new Ctx { Name = $"fake-time timer#{timer.Id} (runs in the clock mover's context)" };
            Log($"{flow.Name}: create {timer.Captured.Name}");
            var expect = Expect(flow);
            var clock = _rig.AppClock;
            await flow.Runner.RunAsync(() =>
            {
                expect();
                timer.Real = timer.Fake
                    ? clock.CreateTimer(timer.Callback, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan)
                    : new Timer(timer.Callback, null, Timeout.Infinite, Timeout.Infinite);
            });
            _timers.Add(timer);
        }

        private async Task FireTimerAsync(TimerModel timer)
        {
            var ctx = timer.Captured.Copy(timer.Captured.Name); // a callback's changes to its context do not last
            var kind = AnyWrite();
            Log($"fire {ctx.Name}: write {kind} as {IdentityFlowRig.Who(Live(ctx.Current))}");
            timer.Fired = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref timer.Next, Emit(ctx, kind));
            if (timer.Fake)
            {
                timer.Real.Change(TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
                var clock = _rig.AppClock;
                Task advance;
                using (ExecutionContext.SuppressFlow()) advance = Task.Run(() => clock.Advance(TimeSpan.FromSeconds(1))); // from a clean context
                await advance;
            }
            else
            {
                timer.Real.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan);
            }
            await timer.Fired.Task;
        }

        private async Task EnqueueAsync(Flow flow)
        {
            var job = new Job { Id = _jobsMade++, Recipe = _random.Next(10) < 6 };
            job.OwnerEmail = job.Recipe ? Live(flow.Current) : null;
            _jobs.Enqueue(job);
            var start = _consumer is null;
            if (start) _consumer = flow.Copy($"consumer (started lazily in {flow.Name})");
            Log($"{flow.Name}: enqueue job {job.Id} {(job.Recipe ? "carrying " + IdentityFlowRig.Who(job.OwnerEmail) : "without identity")}{(start ? ", starting the consumer" : "")}");
            var expect = Expect(flow);
            await flow.Runner.RunAsync(() =>
            {
                expect();
                if (job.Recipe)
                {
                    job.Owner = BentoIdentity.Current; // the recipe: capture who asked for the job
                    if (job.Owner?.Email != job.OwnerEmail) throw new InvalidOperationException("the captured identity is not the flow's");
                }
                _queue.Writer.TryWrite(job);
                if (start) _consumerLoop = Task.Run(ConsumeLoopAsync); // copies this flow's context, as a lazily started consumer does
            });
        }

        private async Task ConsumeAsync()
        {
            var job = _jobs.Dequeue();
            var consumer = _consumer!;
            var kind = AnyWrite();
            if (job.Recipe)
            {
                // using (BentoIdentity.Push(job.Owner)) { write }
                var scope = new Scope { Id = _scopes.Count, Email = job.OwnerEmail, Owner = null! };
                _scopes.Add(scope);
                PushModel(consumer, scope);
                var write = Emit(consumer, kind);
                EndModel(scope, consumer);
                Log($"consumer: job {job.Id} as {IdentityFlowRig.Who(job.OwnerEmail)} (pushed), write {kind}");
                job.Work = () =>
                {
                    using (BentoIdentity.Push(job.Owner)) write();
                };
            }
            else
            {
                Log($"consumer: job {job.Id} as the consumer's context: {IdentityFlowRig.Who(Live(consumer.Current))}, write {kind}");
                job.Work = Emit(consumer, kind);
            }
            job.Go.TrySetResult(true);
            await job.Done.Task;
        }

        private async Task ConsumeLoopAsync()
        {
            await foreach (var job in _queue.Reader.ReadAllAsync())
            {
                await job.Go.Task;
                try
                {
                    job.Work!();
                    job.Done.TrySetResult(true);
                }
                catch (Exception ex)
                {
                    job.Done.TrySetException(ex);
                }
            }
        }

        private async Task EndAsync()
        {
            Log("end: the consumer finishes its jobs, timers are disposed, activities still running stop (in a clean context), flows end");
            while (_consumer != null && _jobs.Count > 0) await ConsumeAsync();
            _queue.Writer.TryComplete();
            if (_consumerLoop != null) await _consumerLoop;
            foreach (var timer in _timers) timer.Real.Dispose();
            foreach (var act in Enumerable.Reverse(_activities).Where(a => !a.Stopped).ToList())
            {
                StopModel(act);
                Task stop;
                using (ExecutionContext.SuppressFlow()) stop = Task.Run(() => act.Real.Stop());
                await stop;
            }
            foreach (var flow in _flows) await flow.Runner.EndAsync();
            await _rig.DeliverAndCheckAsync();
        }
    }
}
