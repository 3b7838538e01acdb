using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks;
using BentoSinks.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using OpenTelemetry.Logs;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>
    /// One seeded program of <see cref="LoggerRandomizedTests"/>: random steps through an ILogger, with the model of every
    /// record it wrote, and the checks.
    /// <para>After every step: nothing was raised to the caller; the pipeline's <c>Offered</c> (BentoDeliveryStatus) is
    /// the model's count of business events (plain lines never counted); <c>sent + dropped by reason + queue depth</c>
    /// (the meter) equals it; <c>no_email</c> and <c>excluded</c> are exactly the model's; nothing counted <c>shutdown</c>
    /// before disposal; never more <c>sent</c> than the emulator accepted; every accepted event has the model's type and
    /// email, its JSON the predicted length, and arrived once (the one documented exception: a request cut by our own
    /// timeout after Bento accepted it); plain lines and events too large alone never reach any request; reasons that
    /// need an answer (rejected, too_large beyond size, unauthorized, retries_exhausted, unconfirmed) appear only after
    /// such an answer. A ForceFlush that returned true: everything written before it is settled, at that moment, and a
    /// blocking one took at most 6.5 minutes of fake time per request it waited on. The exporter's own diagnostics go to
    /// the same ILoggerFactory (the host log): they must never become events, which the offered count checks.</para>
    /// <para>At the end (disposal): nothing in flight, <c>sent + dropped = offered</c>, every accepted event exactly once,
    /// <c>sent</c> = accepted (or, when disposal hit its deadline, accepted − sent ≤ one batch, counted <c>shutdown</c>),
    /// <c>rejected</c> = the single-event 400/422 answers and <c>too_large</c> = events too large alone + single-event
    /// 413 answers (exact when nothing was counted <c>shutdown</c>: a hard stop may count such an event <c>shutdown</c>).
    /// Which events a 401/403 or an exhausted retry streak took is not exact per event: the pipeline drops what is left of
    /// the whole batch, split halves not yet sent included, so those reasons are checked by total and by cause only. A
    /// line written after disposal raises nothing and is never sent; what disposal counted is not readable by then (the
    /// pipeline's meter and status are gone), so it is not checked.</para>
    /// </summary>
    internal sealed partial class LoggerProgram
    {
        private const string SiteEnvelope = "{\"site_uuid\":\"" + BentoEmulatorOptions.DefaultSiteUuid + "\",\"events\":[";
        private static readonly string[] Types = { "signup_completed", "trial_started", "plan_changed", "seat_added", "export_done" };
        private static readonly string[] RetryAfters =
        {
            "0", "1", "7", "5000000", "-5", "garbage", "1e9", "99999999999999999999999", "Fri, 31 Dec 9999 23:59:59 GMT",
            "Mon, 01 Jan 1990 00:00:00 GMT", new string('9', 8000), "  3  ", "soon",
        };

        private readonly Random _random;
        private readonly StringBuilder _trace;
        private readonly Totals _totals;
        private readonly FakeTimeProvider _time = FakeClock.New();
        private readonly List<Planned> _records = new List<Planned>();
        private readonly HashSet<int> _checkedAccepted = new HashSet<int>();
        private BentoEmulator _emulator = null!;
        private AnswerLog _answers = null!;
        private Probe _probe = null!;
        private ServiceProvider _services = null!;
        private ILogger _logger = null!;
        private BentoExporterOptions _options = null!;
        private bool _includeScopes;
        private bool _disposed;

        public LoggerProgram(int seed, StringBuilder trace, Totals totals)
        {
            _random = new Random(seed);
            _trace = trace;
            _totals = totals;
        }

        /// <summary>What every program of a run added up to, for the test's output.</summary>
        internal sealed class Totals
        {
            public long Steps, Records, Events, Requests, Sent, Dropped;
            public ConcurrentDictionary<string, long> ByReason { get; } = new ConcurrentDictionary<string, long>();
            public override string ToString() => $"{Steps} steps, {Records} records ({Events} business events), {Requests} requests, {Sent} sent, {Dropped} dropped " +
                $"[{string.Join(", ", ByReason.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"))}]";
        }

        /// <summary>One record the program wrote, and what must become of it.</summary>
        private sealed class Planned
        {
            public int Id;
            public string? Type;        // null: a plain line, never an event
            public string? Email;       // the email it must arrive with; null: counted no_email
            public bool Excluded;       // $view: counted excluded
            public bool Oversized;      // larger than MaxRequestBytes alone: counted too_large, never sent
            public bool Invalid;        // a built-in type without what it needs: counted invalid (when it has an email), never sent
            public int Length;          // the predicted length of its JSON
            public string How = "";
            public bool Business => Type != null;
            public bool Deliverable => Business && Email != null && !Excluded && !Oversized && !Invalid;
        }

        public async Task RunAsync()
        {
            await using (_emulator = await BentoEmulator.StartAsync(new BentoEmulatorOptions { TimeProvider = _time }))
            using (_answers = new AnswerLog(_time))
            using (_probe = new Probe())
            {
                try
                {
                    Build();
                    var steps = _random.Next(8, 30);
                    for (var step = 0; step < steps; step++)
                    {
                        await StepAsync();
                        await CheckAsync();
                        Interlocked.Increment(ref _totals.Steps);
                    }
                    await DisposeAsync();
                    await CheckAsync();
                    FinalCheck();
                }
                finally
                {
                    if (!_disposed)
                    {
                        // A failed program must not hang: stop it with the clock running (bounded).
                        var stop = Task.Run(() => _services?.Dispose());
                        await _emulator.PumpAsync(_time, () => stop.IsCompleted, TimeSpan.FromMinutes(1), 500);
                    }
                }
            }
            Interlocked.Add(ref _totals.Records, _records.Count);
            Interlocked.Add(ref _totals.Events, _records.Count(r => r.Business));
            Interlocked.Add(ref _totals.Requests, _answers.Count);
            Interlocked.Add(ref _totals.Sent, _probe.Sent);
            Interlocked.Add(ref _totals.Dropped, _probe.DroppedTotal);
            foreach (var (reason, n) in _probe.Dropped) _totals.ByReason.AddOrUpdate(reason, n, (_, v) => v + n);
        }

        private T Pick<T>(params T[] values) => values[_random.Next(values.Length)];

        private void Build()
        {
            _includeScopes = _random.Next(4) > 0;
            var big = _random.Next(8) == 0;
            _options = new BentoExporterOptions();
            EmulatorOptions.Configure(_options, _emulator);
            _options.TimeProvider = _time;
            _options.MessageHandler = _answers;
            _options.BatchSizeLimit = Pick(1, 2, 5, 20, 1000);
            _options.MaxRequestBytes = big ? BentoOptions.DefaultMaxRequestBytes : Pick(2048, 8192, 65536);
            _options.QueueLimit = Pick(100_000, 100_000, 100_000, 15);
            _options.MaxRequestsPerMinute = Pick(0, 60, 600);
            _options.Period = TimeSpan.FromSeconds(Pick(1, 5, 30));
            _options.RetryTimeLimit = TimeSpan.FromSeconds(Pick(20, 120, 600));
            // Hangs are 1-8 s, 40-58 s (near this timeout) or 5 min (past it); the clock moves 2 s a step while a request
            // is out. A request cut by the timeout may still have been accepted: the documented duplicate, allowed for
            // the events of cut requests only (AnswerLog.EventsInCutRequests).
            _options.RequestTimeout = TimeSpan.FromSeconds(60);
            _options.ShutdownTimeout = TimeSpan.FromSeconds(Pick(0, 5, 60, 60));
            _trace.Append($"options: scopes={_includeScopes} batch={_options.BatchSizeLimit} bytes={_options.MaxRequestBytes} queue={_options.QueueLimit} " +
                $"rpm={_options.MaxRequestsPerMinute} period={_options.Period.TotalSeconds}s retry={_options.RetryTimeLimit.TotalSeconds}s shutdown={_options.ShutdownTimeout.TotalSeconds}s\n");

            var before = BentoDeliveryStatus.GetPipelines().Select(p => p.Name).ToHashSet();
            var services = new ServiceCollection();
            services.AddLogging(b => b.SetMinimumLevel(LogLevel.Information));
            services.AddOpenTelemetry().WithLogging(b => b.AddBentoExporter(o => Copy(_options, o)), o => o.IncludeScopes = _includeScopes);
            _services = services.BuildServiceProvider();
            _logger = _services.GetRequiredService<ILoggerFactory>().CreateLogger("RandomProgram");
            _services.GetRequiredService<LoggerProvider>();
            var mine = BentoDeliveryStatus.GetPipelines().Select(p => p.Name).Where(n => !before.Contains(n) && n.StartsWith("OpenTelemetry logs", StringComparison.Ordinal)).ToList();
            Assert.True(mine.Count == 1, "expected one new logs pipeline, found: " + string.Join(", ", mine));
            _probe.Pipeline = mine[0];
        }

        /// <summary>The program's options, applied to the exporter's own (AddBentoExporter's configure callback).</summary>
        private static void Copy(BentoExporterOptions from, BentoExporterOptions to)
        {
            to.SiteUuid = from.SiteUuid;
            to.PublishableKey = from.PublishableKey;
            to.SecretKey = from.SecretKey;
            to.Endpoint = from.Endpoint;
            to.TimeProvider = from.TimeProvider;
            to.MessageHandler = from.MessageHandler;
            to.BatchSizeLimit = from.BatchSizeLimit;
            to.MaxRequestBytes = from.MaxRequestBytes;
            to.QueueLimit = from.QueueLimit;
            to.MaxRequestsPerMinute = from.MaxRequestsPerMinute;
            to.Period = from.Period;
            to.RetryTimeLimit = from.RetryTimeLimit;
            to.RequestTimeout = from.RequestTimeout;
            to.ShutdownTimeout = from.ShutdownTimeout;
        }

        // ---- steps ----

        private async Task StepAsync()
        {
            var roll = _random.Next(100);
            if (roll < 45) await WriteAsync(_random.Next(1, 6));
            else if (roll < 62) SwitchAnswers();
            else if (roll < 77) await AdvanceAsync();
            else if (roll < 90) await FlushAsync(blocking: true);
            else await FlushAsync(blocking: false);
        }

        /// <summary>
        /// Writes <paramref name="count"/> records (business and plain) inside a random identity: one after another, or
        /// each from its own task at once (the identity's scopes flow into them; each task's BeginBentoEvent is its own).
        /// </summary>
        private async Task WriteAsync(int count)
        {
            // 0 none, 1 BentoIdentity, 2 a scope's Email, 3 a scope's invalid Email, 4 both (the scope's wins with IncludeScopes),
            // 5 none, 6 two BentoIdentity scopes ended out of order (the inner one's user until it ends, then nobody).
            var identity = Pick(0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 4, 4, 4, 4, 5, 6);
            var email = _random.Next(5) == 0 ? $"Mixed.Case+{_random.Next(3)}@Example.COM" : $"u{_random.Next(7)}@example.com";
            var emailKey = Pick("Email", "Email", "UserEmail", "user.email"); // the default LogEmailAttributeNames
            var named = _random.Next(2) == 0;
            var parallel = count > 1 && _random.Next(3) == 0;
            string? scopeEmail = null, identityEmail = null;
            IDisposable? pushed = null, scope = null;
            try
            {
                if (identity == 6)
                {
                    var outer = BentoIdentity.Push("outer@example.com");
                    identityEmail = email;
                    pushed = named ? BentoIdentity.Push(identityEmail, "Ada", "Lovelace") : BentoIdentity.Push(identityEmail);
                    outer.Dispose();
                }
                if (identity == 1 || identity == 4)
                {
                    identityEmail = identity == 4 ? $"id{_random.Next(3)}@example.com" : email;
                    pushed = named ? BentoIdentity.Push(identityEmail, "Ada", "Lovelace") : BentoIdentity.Push(identityEmail);
                }
                if (identity >= 2 && identity <= 4)
                {
                    var value = identity == 3 ? "not-an-email" : email;
                    scope = _logger.BeginScope(new Dictionary<string, object?> { [emailKey] = value });
                    if (identity != 3) scopeEmail = value;
                }
                _trace.Append($"write {count}{(parallel ? " in parallel" : "")} (identity {identity}: push={identityEmail ?? "-"} scope={(identity == 3 ? "invalid" : scopeEmail ?? "-")})\n");
                var calls = new List<Func<Task>>();
                for (var i = 0; i < count; i++) calls.Add(PlanOne(scopeEmail, identityEmail, named));
                if (parallel) await Task.WhenAll(calls.Select(call => Task.Run(call)));
                else foreach (var call in calls) await call();
                if (identity == 6)
                {
                    pushed!.Dispose();
                    _trace.Append("  (both identities ended: nobody now)\n");
                    await PlanOne(null, null, named: false)();
                }
            }
            finally
            {
                scope?.Dispose();
                pushed?.Dispose();
            }
        }

        /// <summary>Plans one kind of write (the model, drawn from the program's random) and returns the calls that make it.</summary>
        private Func<Task> PlanOne(string? scopeEmail, string? identityEmail, bool named)
        {
            string? Resolve(string? own, out bool fromIdentity)
            {
                fromIdentity = false;
                if (own != null) return own;
                if (_includeScopes && scopeEmail != null) return scopeEmail;
                fromIdentity = identityEmail != null;
                return identityEmail;
            }
            (Planned P, string Pad) Plan(string? type, string? ownEmail, string how)
            {
                var p = new Planned { Id = _records.Count, Type = type, How = how };
                _records.Add(p);
                if (type != null)
                {
                    p.Excluded = type == "$view";
                    p.Invalid = type is "$purchase" or "$tag";
                    p.Email = Resolve(ownEmail, out var fromIdentity);
                    p.Length = PredictLength(p, fromIdentity && named);
                }
                var pad = p.Business && p.Email != null && !p.Excluded ? PadFor(p) : new string('p', _random.Next(0, 64));
                if (p.Business && p.Email != null && !p.Excluded)
                {
                    p.Length += pad.Length;
                    p.Oversized = SiteEnvelope.Length + 2 + p.Length > _options.MaxRequestBytes;
                }
                _trace.Append($"  #{p.Id} {how}: {type ?? "plain"} email={p.Email ?? "none"} length={p.Length}{(p.Oversized ? " OVERSIZED" : "")}\n");
                return (p, pad);
            }
            // $view is excluded; $purchase without a Purchase and $tag without a Tag are invalid (counted on the loop).
            string Type() => _random.Next(20) switch { 0 => "$view", 1 => Pick("$purchase", "$tag"), _ => Pick(Types) };
            Func<Task> Sync(Action call) => () =>
            {
                Guard(call);
                return Task.CompletedTask;
            };

            var logger = _logger;
            switch (_random.Next(13))
            {
                case 11:
                {
                    // The marker in an ordinary scope: an event only where the exporter sees scopes (IncludeScopes).
                    var type = Type();
                    var (p, pad) = Plan(_includeScopes ? type : null, null, "LogInformation inside an ordinary scope holding AnalyticsEvent");
                    return Sync(() =>
                    {
                        using (logger.BeginScope(new Dictionary<string, object?> { ["AnalyticsEvent"] = type }))
                            logger.LogInformation("Scope-marked step {id} {pad}", p.Id, pad);
                    });
                }
                case 12:
                {
                    var (p, pad) = Plan(Type(), null, "BeginBentoEvent inside an ordinary scope holding another AnalyticsEvent");
                    return Sync(() =>
                    {
                        using (logger.BeginScope(new Dictionary<string, object?> { ["AnalyticsEvent"] = "ordinary_scope_loses" }))
                        using (logger.BeginBentoEvent(p.Type!))
                            logger.LogInformation("Doubly marked step {id} {pad}", p.Id, pad);
                    });
                }
                case 9:
                {
                    // Below the factory's minimum level: never a record, so never an event (nor offered).
                    var (p, pad) = Plan(null, null, "LoggerMessage at Debug, below the minimum level");
                    var type = Type();
                    return Sync(() => logger.StepSkipped(type, p.Id, pad));
                }
                case 10:
                {
                    var (p, pad) = Plan(Type(), null, "BeginBentoEvent + LogError with an exception");
                    return Sync(() =>
                    {
                        using (logger.BeginBentoEvent(p.Type!))
                            logger.LogError(new InvalidOperationException("step failed"), "Step {id} failed {pad}", p.Id, pad);
                    });
                }
                case 0:
                {
                    var (p, pad) = Plan(Type(), null, "LoggerMessage");
                    return Sync(() => logger.StepDone(p.Type!, p.Id, pad));
                }
                case 1:
                {
                    var valid = _random.Next(4) > 0;
                    var own = valid ? $"own{_random.Next(5)}@example.com" : "nobody";
                    var (p, pad) = Plan(Type(), valid ? own : null, "LoggerMessage with its own Email");
                    return Sync(() => logger.Invited(p.Type!, own, p.Id, pad));
                }
                case 2:
                {
                    var repeated = _random.Next(3) == 0;
                    var (p, pad) = Plan(Type(), null, repeated ? "BeginBentoEvent + LogInformation naming {pad} twice" : "BeginBentoEvent + LogInformation");
                    if (repeated && p.Business && p.Email != null && !p.Excluded)
                    {
                        p.Length += "again".Length - pad.Length; // the last value stays
                        p.Oversized = SiteEnvelope.Length + 2 + p.Length > _options.MaxRequestBytes;
                    }
                    return Sync(() =>
                    {
                        using (logger.BeginBentoEvent(p.Type!))
                        {
                            // A template that names a hole twice: one detail (JSON member names are unique), the last value.
                            if (repeated) logger.LogInformation("Scoped step {id} {pad}, again {pad}", p.Id, pad, "again");
                            else logger.LogInformation("Scoped step {id} {pad}", p.Id, pad);
                        }
                    });
                }
                case 3:
                {
                    var (p, padP) = Plan(Type(), null, "inner BeginBentoEvent + plain LoggerMessage");
                    var (q, padQ) = Plan(Type(), null, "outer BeginBentoEvent after the inner one ended");
                    return Sync(() =>
                    {
                        using (logger.BeginBentoEvent(q.Type!))
                        {
                            using (logger.BeginBentoEvent(p.Type!))
                                logger.PlainStep(p.Id, padP);
                            logger.LogInformation("Outer step {id} {pad}", q.Id, padQ);
                        }
                    });
                }
                case 4:
                {
                    var (p, pad) = Plan(Type(), null, "LoggerMessage marker inside another BeginBentoEvent");
                    return Sync(() =>
                    {
                        using (logger.BeginBentoEvent("scope_type_loses"))
                            logger.StepDone(p.Type!, p.Id, pad);
                    });
                }
                case 5:
                {
                    var (p, pad) = Plan(null, null, "plain after scopes ended out of order");
                    return Sync(() =>
                    {
                        var a = logger.BeginBentoEvent("first_scope");
                        var b = logger.BeginBentoEvent("second_scope");
                        a.Dispose();
                        b.Dispose();
                        logger.LogInformation("After the scopes, step {id} {pad}", p.Id, pad);
                    });
                }
                case 6:
                {
                    // A scope ended on another flow (a task): once ended, lines on its own flow are plain again.
                    var (p, pad) = Plan(null, null, "plain after a scope ended on another flow");
                    return async () =>
                    {
                        var a = logger.BeginBentoEvent("ended_elsewhere");
                        await Task.Run(() => a.Dispose());
                        Guard(() => logger.LogInformation("After the scope ended elsewhere, step {id} {pad}", p.Id, pad));
                    };
                }
                default:
                {
                    var (p, pad) = Plan(null, null, "plain line");
                    var generated = _random.Next(2) == 0;
                    return Sync(() =>
                    {
                        if (generated) logger.PlainStep(p.Id, pad);
                        else logger.LogInformation("Plain step {id} {pad}", p.Id, pad);
                    });
                }
            }
        }

        /// <summary>A pad from a few bytes to just under, just over and far over what fits alone in a request.</summary>
        private string PadFor(Planned p)
        {
            var room = _options.MaxRequestBytes - (SiteEnvelope.Length + 2 + p.Length); // the pad that exactly fills a request
            var big = _options.MaxRequestBytes > 100_000;
            var roll = _random.Next(100);
            long length;
            if (roll < (big ? 80 : 55)) length = _random.Next(0, 40);
            else if (roll < (big ? 88 : 75)) length = _random.Next(40, (int)Math.Min(3000, Math.Max(41, room)));
            else if (roll < (big ? 92 : 85)) length = room - _random.Next(0, 64);
            else if (roll < (big ? 96 : 95)) length = room + 1 + _random.Next(0, 64);
            else length = room + room / 2;
            return new string('x', (int)Math.Max(0, length));
        }

        /// <summary>
        /// The length of the event's JSON as the exporter writes it, without its pad: type, email, a 24-character date,
        /// the identity's names when the email came from it, and details id and pad. Checked against every event the emulator accepts.
        /// </summary>
        private static int PredictLength(Planned p, bool names)
        {
            var json = $"{{\"type\":\"{p.Type}\",\"email\":\"{p.Email}\",\"date\":\"2026-11-22T10:00:00.000Z\"" +
                (names ? ",\"fields\":{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\"}" : "") +
                $",\"details\":{{\"id\":{p.Id},\"pad\":\"\"}}}}";
            return json.Length;
        }

        private static void Guard(Action call)
        {
            try { call(); }
            catch (Exception ex) { throw new InvalidOperationException("a logging call raised to the caller: " + ex, ex); }
        }

        private void SwitchAnswers()
        {
            var count = _random.Next(1, 4);
            var faults = new List<Fault>();
            for (var i = 0; i < count; i++)
            {
                var roll = _random.Next(22);
                if (roll == 21) { _answers.ThrowNext(_random.Next(1, 3), _random.Next(5)); continue; }
                string? ra = _random.Next(3) == 0 ? null : Pick(RetryAfters);
                faults.Add(roll switch
                {
                    0 => Fault.WithStatus(400),
                    1 => Fault.WithStatus(422),
                    2 => Fault.WithBody(422, "{\"errors\":[{\"field\":\"email\",\"message\":\"is invalid\"}]}"),
                    3 => Fault.WithStatus(401),
                    4 => Fault.WithStatus(403),
                    5 => Fault.WithStatus(408, ra),
                    6 => Fault.WithStatus(413),
                    7 or 8 => Fault.WithStatus(429, ra),
                    9 => Fault.WithBody(429, "<html>slow down</html>", "text/html", ra),
                    10 => Fault.WithStatus(500, ra),
                    11 => Fault.WithStatus(502),
                    12 => Fault.WithStatus(503, ra),
                    13 => Fault.WithStatus(504),
                    14 => Fault.Delayed(TimeSpan.FromSeconds(_random.Next(1, 9))),
                    // A hang near the 60 s request timeout (answered or cut, whichever the clock reaches first), or past it.
                    // (Each costs about 6 s of real time: the pump waits 200 ms for an answer before each 2 s step.)
                    15 => Fault.Delayed(TimeSpan.FromSeconds(Pick(_random.Next(1, 9), _random.Next(1, 9), _random.Next(40, 59), 300))),
                    16 => Fault.Abort(),
                    17 => Fault.HtmlPage(),
                    18 => Fault.WithBody(200, "{\"ok\":true}"),
                    19 => _random.Next(2) == 0 ? Fault.WithBody(202, "") : Fault.WithBody(201, "{\"results\":\"all\"}"),
                    _ => Fault.WithBody(503, new string('z', 20_000), "application/json", ra),
                });
            }
            _trace.Append($"answers: {string.Join(", ", faults.Select(f => Truncated(f.ToString())))}{(_answers.ArmedThrows > 0 ? $" + handler throws {_answers.ArmedThrows}" : "")}\n");
            _emulator.EnqueueFaults(faults.ToArray());
        }

        /// <summary>Moves the clock (a second to ten minutes), letting each answer in progress finish first.</summary>
        private async Task AdvanceAsync()
        {
            var by = TimeSpan.FromSeconds(Pick(1, 5, 30, 120, 600));
            var until = _time.GetUtcNow() + by;
            _trace.Append($"advance {by.TotalSeconds} s\n");
            Assert.True(await PumpAsync(() => _time.GetUtcNow() >= until, 5000), "the clock could not be advanced");
        }

        /// <summary>
        /// Moves the clock until <paramref name="done"/>: 10 s a step, 2 s while a request is out (an answer in progress gets
        /// up to 200 ms of real time before each step); a request out for 6 s of fake time or more hangs on the clock (a
        /// Delayed fault), so the steps are 10 s again, to reach its end or the request timeout without 200 ms a 2 s.
        /// </summary>
        private Task<bool> PumpAsync(Func<bool> done, int maxSteps)
            => _emulator.AdvanceClockUntilAsync(done, () =>
            {
                var step = _answers.InFlight > 0 && _answers.OldestOut() < TimeSpan.FromSeconds(6) ? 2 : 10;
                _time.Advance(TimeSpan.FromSeconds(step));
            }, maxSteps, () => _answers.InFlight > 0);

        private async Task FlushAsync(bool blocking)
        {
            var provider = _services.GetRequiredService<LoggerProvider>();
            var written = _records.Count(r => r.Business);
            bool flushed;
            if (blocking)
            {
                _trace.Append("ForceFlush()\n");
                var started = _time.GetUtcNow();
                var requestsBefore = _answers.Count;
                var flush = Task.Run(() => provider.ForceFlush(Timeout.Infinite));
                Assert.True(await PumpAsync(() => flush.IsCompleted, 20_000), "ForceFlush never returned while the clock ran: " + _probe.Describe());
                flushed = await flush;
                Assert.True(flushed, "ForceFlush(Infinite) returned false: " + _probe.Describe());
                // No answer holds a flush long: between two requests it waits at most a Retry-After clamped to 5 min
                // (+20 % jitter), a 1 min backoff after a 60 s timeout, or the pump's 10 s step. A Retry-After of 58
                // days or the year 9999 honoured as such would blow this. (Not exact: the pump also moves the clock 2 s
                // per 200 ms of real time while a request is out, so a very slow machine adds fake time; 6.5 min a
                // request leaves it half a minute of real time per request.)
                var took = _time.GetUtcNow() - started;
                var bound = TimeSpan.FromMinutes(6.5) * (_answers.Count - requestsBefore + 1);
                Assert.True(took <= bound, $"ForceFlush took {took} of fake time for {_answers.Count - requestsBefore} requests (at most {bound}): {_probe.Describe()}");
            }
            else
            {
                var timeout = Pick(0, 20);
                flushed = provider.ForceFlush(timeout);
                _trace.Append($"ForceFlush({timeout}) = {flushed}\n");
            }
            if (!flushed) return;
            // True: every event written before it is settled now, not eventually (nothing was written meanwhile).
            var settled = _probe.Sent + _probe.DroppedTotal;
            Assert.True(settled == written, $"ForceFlush returned true with {settled} of the {written} events written before it settled: {_probe.Describe()}");
            var sent = _probe.Sent;
            Assert.True(_emulator.EventCount >= sent, $"ForceFlush returned true with {sent} counted sent but {_emulator.EventCount} at the emulator");
        }

        private async Task DisposeAsync()
        {
            _trace.Append("dispose\n");
            _disposed = true;
            // How long disposal takes is not checked here: after its deadline on the fake clock it still does real-time work
            // (the cut request unwinds, the host log drains), while the pump keeps moving the clock. ShutdownDeadlineTests
            // and the wave tests check the deadline itself.
            var disposal = Task.Run(() => _services.Dispose());
            Assert.True(await PumpAsync(() => disposal.IsCompleted, 20_000), "disposal never completed while the clock ran: " + _probe.Describe());
            await disposal;
            // A line written after disposal raises nothing and is never sent (its id, -1, would fail CheckAccepted).
            using (BentoIdentity.Push("late@example.com"))
                Guard(() => _logger.StepDone("after_disposal", -1, ""));
        }
    }
}
