using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using BentoSinks.Delivery;
using BentoSinks.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace BentoSinks.Core.Tests
{
    /// <summary>
    /// A seeded, stateful random test of the whole pipeline on a fake clock and a scripted in-memory Bento: random
    /// options, event sizes (a few bytes to beyond MaxRequestBytes), invalid and throwing events, server answers (200,
    /// 200 with failed, 400/422 for poisoned events, 413, 408, 429 with Retry-After from 0 to absurd, 5xx, 401/403, HTML, redirects,
    /// timeouts, exceptions from the handler), flushes and disposal at random points. After every step it checks, against
    /// its own model: offered = sent + dropped by reason + in flight; no event arrives twice; a flush completes only once
    /// everything offered before it settled; the loop is alive until disposal, and after disposal everything settled.
    /// A failure names its seed: rerun it with BENTO_RANDOM_SEED=seed.
    /// </summary>
    public class RandomizedPipelineTests
    {
        private readonly ITestOutputHelper _output;

        public RandomizedPipelineTests(ITestOutputHelper output) => _output = output;

        [Fact]
        public Task Random_cases_keep_every_promise()
        {
            var steps = 0L;
            var requests = 0L;
            return SeededCases.RunAsync(_output, "BENTO_RANDOM_CASES", 10_000, async seed =>
            {
                var run = new Case(seed);
                try
                {
                    await run.RunAsync();
                }
                catch (Exception ex)
                {
                    throw new InvalidOperationException(ex.Message + "\n" + run.Trace, ex);
                }
                if (Environment.GetEnvironmentVariable("BENTO_RANDOM_TRACE") is { Length: > 0 } traceFile)
                    System.IO.File.AppendAllText(traceFile, $"seed {seed}: {run.Steps} steps, {run.Requests} requests\n");
                Interlocked.Add(ref steps, run.Steps);
                Interlocked.Add(ref requests, run.Requests);
                return run.Trace;
            }, () => $"{steps} steps, {requests} requests");
        }

        private sealed class Case
        {
            private readonly Random _random;
            private readonly FakeTimeProvider _time = FakeClock.New();
            private readonly StringBuilder _trace = new StringBuilder();
            private readonly object _gate = new object();

            // The model: every event the test offered, by id.
            private readonly List<Model> _events = new List<Model>();
            private readonly List<Model> _bySequence = new List<Model> { null! };
            private readonly Dictionary<DropReason, long> _drops = new Dictionary<DropReason, long>();
            private readonly List<(Task Task, long OfferedBefore)> _flushes = new List<(Task, long)>();
            private long _sent;
            private string? _violation;

            private BentoPipeline<TestEvent> _pipeline = null!;
            private ScriptedBento _bento = null!;
            private BentoOptions _options = null!;
            private Task? _disposal;
            private bool _stoppedInTime;

            public Case(int seed) => _random = new Random(seed);

            public int Steps { get; private set; }
            public int Requests => _bento?.Requests ?? 0;
            public string Trace => _trace.ToString();

            public async Task RunAsync()
            {
                _options = new BentoOptions
                {
                    SiteUuid = "site",
                    PublishableKey = "pk",
                    SecretKey = "sk",
                    Endpoint = new Uri("http://127.0.0.1:1/api/v1"),
                    BatchSizeLimit = Pick(1, 2, 3, 7, 20, 1000),
                    MaxRequestBytes = Pick(1024, 1500, 4096, 64 * 1024),
                    QueueLimit = Pick(3, 20, 200, 100_000),
                    MaxRequestsPerMinute = Pick(0, 6, 60, 600),
                    Period = TimeSpan.FromMilliseconds(Pick(10, 1000, 10_000)),
                    RetryTimeLimit = TimeSpan.FromSeconds(Pick(0, 5, 60, 600)),
                    RequestTimeout = TimeSpan.FromSeconds(Pick(1, 5, 30)),
                    ShutdownTimeout = TimeSpan.FromSeconds(Pick(0, 1, 30)),
                    TimeProvider = _time,
                };
                _bento = new ScriptedBento(this, new Random(_random.Next()))
                {
                    FaultRate = Pick(0.0, 0.05, 0.3, 0.7),
                    PoisonAnswer = Pick(400, 422, 200),
                    ServerMaxBytes = Pick(int.MaxValue, int.MaxValue, 2048),
                };
                _options.MessageHandler = _bento;
                var settings = _options.Validate();
                settings.WarningInterval = TimeSpan.FromSeconds(Pick(0, 10));
                _pipeline = new BentoPipeline<TestEvent>(settings, new TestFormatter(), new ListDiagnostics(), "random");
                _pipeline.ItemsDropped = OnDropped;
                _pipeline.FlushCompleting = OnFlushCompleting;
                _trace.Append($"options: batch={_options.BatchSizeLimit} bytes={_options.MaxRequestBytes} queue={_options.QueueLimit} rpm={_options.MaxRequestsPerMinute} period={_options.Period.TotalMilliseconds}ms retry={_options.RetryTimeLimit.TotalSeconds}s timeout={_options.RequestTimeout.TotalSeconds}s shutdown={_options.ShutdownTimeout.TotalSeconds}s faults={_bento.FaultRate} poison={_bento.PoisonAnswer} serverMax={_bento.ServerMaxBytes}\n");

                try
                {
                    var stepCount = _random.Next(3, 25);
                    for (var step = 0; step < stepCount; step++)
                    {
                        Steps++;
                        var roll = _random.Next(100);
                        if (Environment.GetEnvironmentVariable("BENTO_RANDOM_TRACE") is { Length: > 0 } f0)
                            System.IO.File.AppendAllText(f0, $"step {step} roll {roll}\n");
                        if (roll < 45) Offer(_random.Next(1, 25));
                        else if (roll < 75) Advance();
                        else if (roll < 90) Flush();
                        else if (roll < 94 && _disposal is null)
                        {
                            _trace.Append("dispose\n");
                            _disposal = _pipeline.ShutdownAsync(null);
                            if (Environment.GetEnvironmentVariable("BENTO_RANDOM_TRACE") is { Length: > 0 } f1) System.IO.File.AppendAllText(f1, "disposal started\n");
                        }
                        else Advance();
                        await SettleAsync();
                        await CheckAsync();
                        if (Environment.GetEnvironmentVariable("BENTO_RANDOM_TRACE") is { Length: > 0 } f)
                            System.IO.File.AppendAllText(f, _trace.ToString() + "  => " + _pipeline.Counters + "\n");
                    }

                    // Liveness: a last flush completes once the clock runs (retries end at RetryTimeLimit at the latest).
                    if (_disposal is null)
                    {
                        Flush();
                        await PumpUntilAsync(() => _flushes.All(f => f.Task.IsCompleted), "every flush completes");
                        await CheckAsync();
                        Assert(_pipeline.Counters.InFlight == 0, "after a flush of everything, nothing is in flight: " + _pipeline.Counters);
                        _disposal = _pipeline.ShutdownAsync(null);
                        _trace.Append("dispose\n");
                    }
                    await PumpUntilAsync(() => _disposal.IsCompleted, "disposal completes");
                    await _disposal;
                    await PumpUntilAsync(() => _flushes.All(f => f.Task.IsCompleted), "every flush completes after disposal");
                    await CheckAsync();
                    Assert(_pipeline.Counters.InFlight == 0, "after disposal everything has settled: " + _pipeline.Counters);
                    Assert(_events.All(e => e.Settled), "after disposal every event of the model settled");
                    // After disposal an event is counted, never queued.
                    Offer(2);
                    await CheckAsync();
                }
                finally
                {
                    // A failed case must not hang on a fake clock: stop hard (bounded; a hang here is reported below).
                    _stoppedInTime = _pipeline.ShutdownAsync(TimeSpan.Zero).Wait(TimeSpan.FromSeconds(10));
                }
                Assert(_stoppedInTime, "the pipeline did not stop at a hard stop");
            }

            private T Pick<T>(params T[] values) => values[_random.Next(values.Length)];

            private void Offer(int count)
            {
                var accepted = 0;
                for (var i = 0; i < count; i++)
                {
                    var id = _events.Count;
                    var kind = _random.Next(100);
                    var e = new TestEvent { Email = $"u{id % 13}@example.com", Details = new Dictionary<string, object?> { ["id"] = id } };
                    if (kind < 3) e.Invalid = true;
                    else if (kind < 5) e.Throw = true;
                    else if (kind < 20) e.Details["pad"] = new string('p', _random.Next(0, (int)(_options.MaxRequestBytes * 1.3)));
                    else if (kind < 25) e.Details["pad"] = new string('q', _random.Next(0, 200));
                    var model = new Model(id, poisoned: _random.Next(100) < 4);
                    lock (_gate) _events.Add(model);
                    if (_pipeline.TryEnqueue(e))
                    {
                        lock (_gate)
                        {
                            model.Sequence = _bySequence.Count;
                            _bySequence.Add(model);
                        }
                        accepted++;
                    }
                    else
                    {
                        // queue_full or shutdown: counted at once, on the caller's thread.
                        lock (_gate) Settle(model, _disposal is null ? DropReason.QueueFull : DropReason.Shutdown, "caller");
                    }
                }
                _trace.Append($"offer {count} (queued {accepted})\n");
            }

            private void Advance()
            {
                var ms = Pick(1, 50, 1000, 10_000, 61_000, 600_000);
                _trace.Append($"advance {ms} ms\n");
                _time.Advance(TimeSpan.FromMilliseconds(ms));
            }

            private void Flush()
            {
                long offered;
                lock (_gate) offered = _events.Count;
                _trace.Append("flush\n");
                _flushes.Add((_pipeline.FlushAsync(), offered));
            }

            private void OnFlushCompleting(long target)
            {
                lock (_gate)
                {
                    for (var seq = 1; seq <= target && seq < _bySequence.Count; seq++)
                        if (!_bySequence[seq].Settled) { _violation ??= $"a flush completed (target {target}) before event #{_bySequence[seq].Id} (seq {seq}) settled"; return; }
                }
            }

            private void OnDropped(DropReason reason, IReadOnlyList<TestEvent> items, int dropped)
            {
                if (dropped < items.Count) return; // Bento counted some as failed: the server side of the model knows which.
                lock (_gate)
                {
                    foreach (var item in items)
                    {
                        var id = (int)item.Details!["id"]!;
                        var model = _events[id];
                        if (reason == DropReason.QueueFull || (reason == DropReason.Shutdown && model.Sequence == 0)) continue; // counted by Offer
                        if (reason == DropReason.Rejected && model.FailedByServer) continue; // all of a request failed: counted by the server side
                        if (reason == DropReason.Shutdown && (model.Accepted || model.FailedByServer) && !model.CountedShutdownAfterAnswer)
                        {
                            // A hard stop cut the request after Bento answered it, before the answer was read: the
                            // pipeline cannot know, and counts it undelivered (at most once).
                            model.CountedShutdownAfterAnswer = true;
                            if (model.Accepted) _sent--;
                            else _drops[DropReason.Rejected]--;
                            _drops[reason] = _drops.TryGetValue(reason, out var k) ? k + 1 : 1;
                            continue;
                        }
                        Settle(model, reason, "listener");
                    }
                }
            }

            /// <summary>Called by the scripted server when it accepts (or counts as failed) an event.</summary>
            internal void ServerSettled(int id, bool accepted)
            {
                lock (_gate)
                {
                    var model = _events[id];
                    if (accepted)
                    {
                        if (model.Settled) { _violation ??= $"event #{id} arrived twice (or after being dropped as {model.Reason})"; return; }
                        model.Settled = true;
                        model.Accepted = true;
                        _sent++;
                    }
                    else
                    {
                        model.FailedByServer = true;
                        Settle(model, DropReason.Rejected, "failed");
                    }
                }
            }

            private void Settle(Model model, DropReason reason, string by)
            {
                if (model.Settled) { _violation ??= $"event #{model.Id} settled twice ({model.Reason}, then {reason} by {by})"; return; }
                model.Settled = true;
                model.Reason = reason;
                _drops[reason] = _drops.TryGetValue(reason, out var n) ? n + 1 : 1;
            }

            /// <summary>
            /// Checks the invariants once the pipeline has settled. Idle detection from outside can be fooled for an
            /// instant (a continuation queued on a busy pool), so a mismatch is looked at again after the loop had a
            /// real moment to run; only a lasting one fails. (The flush check is exact: it runs inside the pipeline.)
            /// </summary>
            private async Task CheckAsync()
            {
                for (var attempt = 0; ; attempt++)
                {
                    try
                    {
                        Check();
                        return;
                    }
                    catch (InvalidOperationException) when (attempt < 20 && _violation is null)
                    {
                        for (var y = 0; y < 100; y++) await Task.Yield();
                        await SettleAsync();
                    }
                }
            }

            private void Check()
            {
                var c = _pipeline.Counters;
                lock (_gate)
                {
                    Assert(_violation is null, _violation!);
                    var pending = _events.Count(e => !e.Settled);
                    Assert(c.Offered == _events.Count, $"offered {c.Offered}, model {_events.Count}");
                    Assert(c.Sent == _sent, $"sent {c.Sent}, server accepted {_sent}");
                    foreach (DropReason reason in Enum.GetValues(typeof(DropReason)))
                    {
                        var model = _drops.TryGetValue(reason, out var m) ? m : 0;
                        Assert(c.Dropped(reason) == model, $"dropped {reason.Name()} {c.Dropped(reason)}, model {model}");
                    }
                    Assert(c.InFlight == pending, $"in flight {c.InFlight}, model {pending}; {c}");
                    Assert(c.Offered == c.Sent + c.DroppedTotal + c.InFlight, "offered = sent + dropped + in flight");
                }
                foreach (var (task, _) in _flushes) Assert(!task.IsFaulted, "a flush faulted: " + task.Exception);
                if (_disposal is null) Assert(!_pipeline.LoopCompleted, "the loop ended before disposal");
            }

            private static void Assert(bool condition, string message)
            {
                if (!condition) throw new InvalidOperationException(message);
            }

            /// <summary>Lets the loop run until it waits for something that has not happened (time, events, a hung request).</summary>
            private async Task SettleAsync()
            {
                var started = System.Diagnostics.Stopwatch.StartNew();
                for (var spins = 0; spins < 1000 || started.Elapsed < TimeSpan.FromSeconds(10); spins++)
                {
                    if (_pipeline.LoopCompleted) return;
                    if (_pipeline.IsParked(out var before) || _bento.Hanging > 0)
                    {
                        await Task.Yield();
                        await Task.Yield();
                        if (_pipeline.LoopCompleted) return;
                        if ((_pipeline.IsParked(out var after) && after == before) || _bento.Hanging > 0) return;
                    }
                    await Task.Yield();
                    if (spins % 1000 == 999 && Environment.GetEnvironmentVariable("BENTO_RANDOM_TRACE") is { Length: > 0 } f0)
                        System.IO.File.AppendAllText(f0, $"settle spin {spins}: {_pipeline.Counters} hanging={_bento.Hanging} parked={_pipeline.IsParked(out _)}\n");
                }
                _pipeline.IsParked(out var parks);
                throw new InvalidOperationException($"the pipeline never settled ({parks} parks, {_bento.Requests} requests): " + _pipeline.Counters);
            }

            private async Task PumpUntilAsync(Func<bool> done, string what)
            {
                // Bounded: about ten hours of fake time; a batch that splits through 70 % faults needs hundreds of requests.
                for (var i = 0; i < 4000 && !done(); i++)
                {
                    if (Environment.GetEnvironmentVariable("BENTO_RANDOM_TRACE") is { Length: > 0 } f0)
                        System.IO.File.AppendAllText(f0, $"pump {i} {what}: {_pipeline.Counters} hanging={_bento.Hanging}\n");
                    await SettleAsync();
                    await Task.Yield(); // continuations of the flushes and of disposal run on the pool
                    if (done()) break;
                    _time.Advance(TimeSpan.FromSeconds(i < 600 ? 1 : 10));
                    await CheckAsync();
                }
                // Past the fake hour, continuations queued on a busy pool get a last (real) moment.
                var grace = System.Diagnostics.Stopwatch.StartNew();
                while (!done() && grace.Elapsed < TimeSpan.FromSeconds(1)) await Task.Yield();
                Assert(done(), "never reached: " + what + "; " + _pipeline.Counters + "; flushes: " + string.Join(", ", _flushes.Select(f => f.Task.Status)) + "; loop completed: " + _pipeline.LoopCompleted + "; waiting " + _pipeline.FlushesWaiting);
            }

            private sealed class Model
            {
                public Model(int id, bool poisoned)
                {
                    Id = id;
                    Poisoned = poisoned;
                }

                public int Id { get; }
                public bool Poisoned { get; }
                public long Sequence { get; set; }
                public bool Settled { get; set; }
                public bool Accepted { get; set; }
                public bool FailedByServer { get; set; }
                public bool CountedShutdownAfterAnswer { get; set; }
                public DropReason Reason { get; set; }
            }

            /// <summary>Bento in memory: answers from a seeded script, and tells the model what it accepted.</summary>
            private sealed class ScriptedBento : HttpMessageHandler
            {
                private readonly Case _case;
                private readonly Random _random;
                private int _requests;
                private readonly System.Collections.Concurrent.ConcurrentDictionary<int, CancellationToken> _hangs = new System.Collections.Concurrent.ConcurrentDictionary<int, CancellationToken>();
                private int _hangIds;

                public ScriptedBento(Case owner, Random random)
                {
                    _case = owner;
                    _random = random;
                }

                public double FaultRate { get; set; }
                public int PoisonAnswer { get; set; }
                public int ServerMaxBytes { get; set; }
                public int Requests => Volatile.Read(ref _requests);
                /// <summary>Requests hung until the pipeline's timeout, still waiting: the timeout is cancelled at once when the clock passes it, so a hung request whose token is cancelled is not waiting any more.</summary>
                public int Hanging => _hangs.Values.Count(t => !t.IsCancellationRequested);

                protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
                {
                    Interlocked.Increment(ref _requests);
                    var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
                    using var doc = JsonDocument.Parse(body); // every body must be valid JSON
                    var ids = doc.RootElement.GetProperty("events").EnumerateArray()
                        .Select(e => e.GetProperty("details").GetProperty("id").GetInt32()).ToList();
                    int roll;
                    lock (_random) roll = _random.Next(1000);

                    if (roll < FaultRate * 1000)
                    {
                        int fault;
                        lock (_random) fault = _random.Next(16);
                        switch (fault)
                        {
                            case 0: return Status(408);
                            case 1: return Status(429);
                            case 2: return Status(429, retryAfter: "0");
                            case 3: return Status(429, retryAfter: "1");
                            case 4: return Status(429, retryAfter: "5000000");
                            case 5: return Status(503, retryAfter: "0");
                            case 6: return Status(500);
                            case 7: return Status(502, retryAfter: _case._time.GetUtcNow().AddDays(-1).ToString("R"));
                            case 8: return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("<html>blocked</html>", Encoding.UTF8, "text/html") };
                            case 9: throw new InvalidOperationException("a hostile handler");
                            case 10: throw new HttpRequestException("connection refused");
                            case 11: return Status(429, retryAfter: "soon");
                            case 12: return Status(_random.Next(2) == 0 ? 401 : 403);
                            case 13:
                                var redirect = Status(301);
                                redirect.Headers.Location = new Uri("https://example.com/elsewhere?site_uuid=x");
                                return redirect;
                            default:
                                // No answer: the pipeline's request timeout (on the fake clock) ends it. Nothing was accepted.
                                var hang = Interlocked.Increment(ref _hangIds);
                                _hangs[hang] = cancellationToken;
                                try { await Task.Delay(Timeout.Infinite, cancellationToken); }
                                finally { _hangs.TryRemove(hang, out _); }
                                throw new OperationCanceledException(cancellationToken);
                        }
                    }

                    if (body.Length > ServerMaxBytes) return Status(413);
                    List<int> poisoned;
                    lock (_case._gate) poisoned = ids.Where(id => _case._events[id].Poisoned).ToList();
                    if (poisoned.Count > 0 && PoisonAnswer != 200) return Status(PoisonAnswer);
                    foreach (var id in ids) _case.ServerSettled(id, accepted: !poisoned.Contains(id));
                    return new HttpResponseMessage(HttpStatusCode.OK)
                    {
                        Content = new StringContent($"{{\"results\":{ids.Count - poisoned.Count},\"failed\":{poisoned.Count}}}", Encoding.UTF8, "application/json"),
                    };
                }

                private static HttpResponseMessage Status(int status, string? retryAfter = null)
                {
                    var response = new HttpResponseMessage((HttpStatusCode)status)
                    {
                        Content = new StringContent("{\"error\":\"scripted\"}", Encoding.UTF8, "application/json"),
                    };
                    if (retryAfter != null) response.Headers.TryAddWithoutValidation("Retry-After", retryAfter);
                    return response;
                }
            }
        }
    }
}
