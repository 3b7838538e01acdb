using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Bento.Emulator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;
using Serilog;

namespace BentoSinks.AspNetCore.Tests
{
    /// <summary>
    /// The three delivery paths of one app, reused by every program of <see cref="IdentityFlowRandomizedTests"/>: a Serilog
    /// logger with <c>WriteTo.Bento</c>, and OpenTelemetry traces and logs with <c>AddBentoExporter</c>, all delivering over
    /// HTTP to one emulator on 127.0.0.1, on a fake clock they share with it (a period of 1 s; delivery is driven by
    /// pumping that clock). It keeps the expectations of the events written and checks what arrived against them.
    /// </summary>
    internal sealed class IdentityFlowRig : IAsyncDisposable
    {
        public const string SerilogPath = "Serilog", TracesPath = "OpenTelemetry traces", LogsPath = "OpenTelemetry logs";
        private static readonly string[] Paths = { SerilogPath, TracesPath, LogsPath };

        private readonly ServiceProvider _services;
        private readonly Dictionary<string, BentoMeterProbe> _probes;
        private readonly Dictionary<string, long> _offered = Paths.ToDictionary(p => p, _ => 0L);
        private readonly Dictionary<string, long> _received = Paths.ToDictionary(p => p, _ => 0L);
        private readonly Dictionary<string, long> _nobody = Paths.ToDictionary(p => p, _ => 0L);
        private readonly Dictionary<string, Expectation> _pending = new Dictionary<string, Expectation>(StringComparer.Ordinal);
        private long _requestsBeforeReset;

        private IdentityFlowRig(BentoEmulator emulator, FakeTimeProvider time, Dictionary<string, BentoMeterProbe> probes, Serilog.Core.Logger serilog,
            ServiceProvider services, ActivitySource source)
        {
            Emulator = emulator;
            Time = time;
            _probes = probes;
            Serilog = serilog;
            _services = services;
            Source = source;
            Logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("IdentityFlows");
        }

        public BentoEmulator Emulator { get; }

        /// <summary>The clock of the pipelines and the emulator (moved only to deliver).</summary>
        public FakeTimeProvider Time { get; }

        /// <summary>The clock of the programs' fake-time timers: moved only when a program fires one.</summary>
        public FakeTimeProvider AppClock { get; } = FakeClock.New();

        public Serilog.Core.Logger Serilog { get; }
        public Microsoft.Extensions.Logging.ILogger Logger { get; }
        public ActivitySource Source { get; }

        /// <summary>Whether a fake-time timer's callback runs in the execution context of the code that created the timer.</summary>
        public bool FakeTimersFlowContext { get; private set; }

        /// <summary>Events checked so far, by path, and how many of them arrived.</summary>
        public string Totals => string.Join(", ", Paths.Select(p => $"{p}: {_offered[p]} offered, {_received[p]} sent, {_nobody[p]} no_email"));

        public static async Task<IdentityFlowRig> StartAsync()
        {
            var time = FakeClock.New();
            var probes = Paths.ToDictionary(p => p, p => new BentoMeterProbe(p)); // before the pipelines: they count everything
            var emulator = await BentoEmulator.StartAsync(new BentoEmulatorOptions { TimeProvider = time });
            void Configure(BentoOptions o)
            {
                EmulatorOptions.Configure(o, emulator);
                o.Period = TimeSpan.FromSeconds(1);
                o.TimeProvider = time;
                // The fake clock moves while the emulator answers (up to 200 ms of real time on a busy machine): a request
                // timeout on that clock would send an accepted batch again (at least once), which is not what this test is about.
                o.RequestTimeout = TimeSpan.FromDays(1);
            }
            var serilog = new LoggerConfiguration().WriteTo.Bento(o => Configure(o)).CreateLogger();
            var source = new ActivitySource("bento.tests.identity-flows." + Guid.NewGuid());
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddOpenTelemetry()
                .WithTracing(t => t.AddSource(source.Name).AddBentoExporter(o => Configure(o)))
                .WithLogging(l => l.AddBentoExporter(o => Configure(o)));
            var provider = services.BuildServiceProvider();
            provider.GetRequiredService<TracerProvider>(); // builds it: from now on the source's activities are recorded
            var rig = new IdentityFlowRig(emulator, time, probes, serilog, provider, source);
            rig.FakeTimersFlowContext = await FakeTimerFlowsContextAsync(rig.AppClock);
            return rig;
        }

        /// <summary>Finds out, once, how <see cref="FakeTimeProvider"/> runs a timer's callback (the model needs to know).</summary>
        private static async Task<bool> FakeTimerFlowsContextAsync(FakeTimeProvider clock)
        {
            var probe = new AsyncLocal<string?>();
            var seen = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
            ITimer timer;
            probe.Value = "creator";
            timer = clock.CreateTimer(_ => seen.TrySetResult(probe.Value), null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
            probe.Value = null;
            Task advance;
            using (ExecutionContext.SuppressFlow()) advance = Task.Run(() => clock.Advance(TimeSpan.FromSeconds(1))); // from a clean context
            await advance;
            var value = await seen.Task;
            timer.Dispose();
            return value == "creator";
        }

        /// <summary>An event written: its id, its path, and who it must arrive as (null: nobody, dropped <c>no_email</c>).</summary>
        public sealed record Expectation(string Eid, string Path, string? Email, bool MayBeNobody, string Note);

        /// <summary>The event was offered to its pipeline (a log event when written, an activity event when its activity stopped).</summary>
        public void Offered(Expectation e)
        {
            _pending.Add(e.Eid, e);
            _offered[e.Path]++;
        }

        /// <summary>
        /// Delivers everything offered (pumping the shared fake clock until every pipeline has counted each event sent or
        /// dropped), then checks each event against its expectation: it arrived once, as exactly the expected user with that
        /// user's names, on its own path, or it was expected to be nobody's and was counted <c>no_email</c>; never another
        /// user's. Offered = sent + dropped on every path, and nothing is dropped for another reason.
        /// </summary>
        public async Task DeliverAndCheckAsync()
        {
            bool Settled() => Paths.All(p => _probes[p].Sent + _probes[p].DroppedTotal >= _offered[p]);
            bool Busy() => _probes.Values.Sum(p => p.Requests) - _requestsBeforeReset < Emulator.RequestsStarted;
            await Emulator.PumpUntilAsync(Time, Settled, TimeSpan.FromSeconds(1), 300, Busy, Describe);

            var arrived = new HashSet<string>(StringComparer.Ordinal);
            foreach (var e in Emulator.Events)
            {
                var eid = e.Detail("eid")?.GetString() ?? throw new InvalidOperationException($"an event arrived without its id: {e.Type}");
                if (!arrived.Add(eid)) throw new InvalidOperationException($"event {eid} arrived twice");
                if (!_pending.TryGetValue(eid, out var expected)) throw new InvalidOperationException($"event {eid} arrived, but it was not expected now (or arrived in an earlier check)");
                var path = e.Type switch { "flow_serilog" => SerilogPath, "flow_log" => LogsPath, _ => TracesPath };
                if (path != expected.Path) throw new InvalidOperationException($"event {eid} arrived through {path}, written to {expected.Path}");
                if (expected.Email is null)
                    throw new InvalidOperationException($"WRONG PERSON: event {eid} ({expected.Path}, {expected.Note}) should be nobody's, and arrived as {Who(e.Email)}");
                if (!string.Equals(e.Email, expected.Email, StringComparison.Ordinal))
                    throw new InvalidOperationException($"WRONG PERSON: event {eid} ({expected.Path}, {expected.Note}) should be {Who(expected.Email)}'s, and arrived as {Who(e.Email)}");
                var firstName = e.Field("first_name")?.GetString();
                if (firstName != FirstNameOf(expected.Email))
                    throw new InvalidOperationException($"event {eid} arrived as {Who(e.Email)} with another first name: {firstName ?? "none"}");
                _received[path]++;
            }
            foreach (var expected in _pending.Values.Where(x => !arrived.Contains(x.Eid)))
            {
                if (expected.Email != null && !expected.MayBeNobody)
                    throw new InvalidOperationException($"event {expected.Eid} ({expected.Path}, {expected.Note}) should be {Who(expected.Email)}'s and arrived as nobody (dropped)");
                _nobody[expected.Path]++;
            }
            foreach (var p in Paths)
            {
                var probe = _probes[p];
                if (probe.Sent != _received[p] || probe.DroppedFor("no_email") != _nobody[p] || probe.DroppedTotal != _nobody[p] || _offered[p] != probe.Sent + probe.DroppedTotal)
                    throw new InvalidOperationException($"{p}: offered {_offered[p]} must be sent + dropped; the emulator received {_received[p]}, {_nobody[p]} were nobody's; the meter says {probe.Describe()}");
            }
            _pending.Clear();
            _requestsBeforeReset = _probes.Values.Sum(p => p.Requests);
            Emulator.Reset();
        }

        private string Describe() => $"{Totals}; waiting for {_pending.Count} events; meter: " + string.Join("; ", Paths.Select(p => p + " " + _probes[p].Describe()));

        public static string Who(string? email) => email is null ? "nobody" : email.Substring(0, email.IndexOf('@', StringComparison.Ordinal));

        public static string? FirstNameOf(string? email) => email switch
        {
            "ada@example.com" => "Ada",
            "grace@example.com" => "Grace",
            _ => null,
        };

        public async ValueTask DisposeAsync()
        {
            await Emulator.PumpWhileAsync(Time, Task.Run(() => _services.Dispose()), TimeSpan.FromSeconds(1), 200);
            await Emulator.PumpWhileAsync(Time, Task.Run(() => Serilog.Dispose()), TimeSpan.FromSeconds(1), 200);
            Source.Dispose();
            foreach (var probe in _probes.Values) probe.Dispose();
            await Emulator.DisposeAsync();
        }
    }

    /// <summary>
    /// One asynchronous flow of a program (a request, a worker, a task started inside a scope): a loop in its own execution
    /// context that runs the driver's steps one at a time. A step is synchronous code run by the loop, so what it changes in
    /// the context (a <see cref="BentoIdentity"/> scope, <see cref="Activity.Current"/>) stays for the flow's next steps,
    /// as in straight-line async code; the driver waits for each step, so a program runs the same way for its seed.
    /// </summary>
    internal sealed class FlowRunner
    {
        private readonly Channel<(Action Step, TaskCompletionSource<bool> Done)> _inbox =
            Channel.CreateUnbounded<(Action, TaskCompletionSource<bool>)>(new UnboundedChannelOptions { SingleReader = true });

        private FlowRunner()
        {
        }

        public Task Loop { get; private set; } = Task.CompletedTask;

        /// <summary>A flow with a clean context: no identity, no current activity.</summary>
        public static FlowRunner StartRoot()
        {
            var flow = new FlowRunner();
            using (ExecutionContext.SuppressFlow()) flow.Loop = Task.Run(flow.LoopAsync);
            return flow;
        }

        /// <summary>Called inside a step of another flow: a <c>Task.Run</c> that copies that flow's context.</summary>
        public static FlowRunner StartCopy()
        {
            var flow = new FlowRunner();
            flow.Loop = Task.Run(flow.LoopAsync);
            return flow;
        }

        public async Task RunAsync(Action step)
        {
            var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_inbox.Writer.TryWrite((step, done))) throw new InvalidOperationException("the flow has ended");
            await done.Task;
        }

        public async Task EndAsync()
        {
            _inbox.Writer.TryComplete();
            await Loop;
        }

        private async Task LoopAsync()
        {
            while (await _inbox.Reader.WaitToReadAsync())
            {
                while (_inbox.Reader.TryRead(out var item))
                {
                    try
                    {
                        item.Step();
                        item.Done.TrySetResult(true);
                    }
                    catch (Exception ex)
                    {
                        item.Done.TrySetException(ex);
                    }
                }
            }
        }
    }
}
