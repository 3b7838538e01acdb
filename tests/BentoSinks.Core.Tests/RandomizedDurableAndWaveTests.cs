using System;
using System.Collections.Generic;
using System.IO;
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
    /// The randomized test's other two modes (memory mode is <see cref="RandomizedPipelineTests"/>), seeded the same way
    /// (<see cref="SeededCases"/>): a failure names its seed, rerun it with BENTO_RANDOM_SEED=seed.
    /// <list type="bullet">
    /// <item>Durable mode with crash points and directory faults: a chain of "processes" (pipelines) on one buffer
    /// directory. At random steps the running pipeline is dropped without a flush (a hard stop with no time: nothing more
    /// is sent, its objects are released; in-process this is the closest to a crash that still frees the directory) and a
    /// new one opens the same directory; the directory is deleted while running, replaced by a file, its lock is held by
    /// another holder when a pipeline opens it, or the disk fills up (segment writes fail with ENOSPC) and gets room again. After each step: the counts of the running pipeline add up, it claims no
    /// more sent than Bento accepted, the loop is alive. At the end a healthy pipeline on a repaired directory drains
    /// what is left: every event accepted and not counted dropped reached Bento (nothing is called <c>deferred</c> unless
    /// the next process finds it on disk), and an event arrives twice only if it was in the batch in flight at a crash.</item>
    /// <item>Shutdown waves: several pipelines of one account, some with requests that hang, stop in waves; no shutdown
    /// outlives its deadline, and a later pipeline on the healthy account delivers everything.</item>
    /// </list>
    /// </summary>
    public class RandomizedDurableAndWaveTests
    {
        private readonly ITestOutputHelper _output;

        public RandomizedDurableAndWaveTests(ITestOutputHelper output) => _output = output;

        [Fact]
        public Task Durable_cases_with_crashes_and_directory_faults_lose_nothing_accepted()
            => SeededCases.RunAsync(_output, "BENTO_RANDOM_DURABLE_CASES", 400, seed => new DurableCase(seed).RunAsync());

        [Fact]
        public async Task Shutdown_wave_cases_end_by_their_deadlines_and_leave_the_account_healthy()
        {
            var walked = new WaveWalk();
            await SeededCases.RunAsync(_output, "BENTO_RANDOM_WAVE_CASES", 2000, seed => new WaveCase(seed, walked).RunAsync(),
                () => $"{walked.Throttled} 429s during disposal, {walked.Redrawn} spreads redrawn within the time left, {walked.Retried} refused batches retried in time ({walked.Checked} of them checked: alone, with time for it)");
            // The cases must walk the path they are for: a 429 during disposal whose spread would end past the deadline.
            if (BentoSinks.Testing.SeededRuns.ReplayedSeed("BENTO_RANDOM_SEED") is null && walked.Cases >= 50)
                Assert.True(walked.Redrawn > 0 && walked.Checked > 0, $"the wave cases never redrew a 429's spread at disposal ({walked.Redrawn}) or retried a refused batch in time ({walked.Retried})");
        }

        /// <summary>What the wave cases walked (summed over the run).</summary>
        private sealed class WaveWalk
        {
            public int Cases;
            public int Throttled;
            public int Redrawn;
            public int Retried;
            public int Checked;
        }

        private static void Check(bool condition, string message, StringBuilder trace)
        {
            if (!condition) throw new InvalidOperationException(message + "\n" + trace);
        }

        /// <summary>Lets a loop run until it waits for time, or a request hangs.</summary>
        private static async Task SettleAsync(BentoPipeline<TestEvent> pipeline, Func<int> hanging)
        {
            // A loop waiting on a request Bento already answered is not settled: under load its continuation may run late,
            // and fake time moved meanwhile would be time the pipeline never saw (a 429 at +0 s handled at +8.5 s).
            bool Answered() => pipeline.Counters.Requests == pipeline.Counters.Answered;
            var started = System.Diagnostics.Stopwatch.StartNew();
            for (var spins = 0; spins < 1000 || started.Elapsed < TimeSpan.FromSeconds(10); spins++)
            {
                if (pipeline.LoopCompleted) return;
                if ((pipeline.IsParked(out var before) && Answered()) || hanging() > 0)
                {
                    await Task.Yield();
                    await Task.Yield();
                    if (pipeline.LoopCompleted) return;
                    if ((pipeline.IsParked(out var after) && after == before && Answered()) || hanging() > 0) return;
                }
                await Task.Yield();
            }
            throw new InvalidOperationException("the pipeline never settled: " + pipeline.Counters);
        }

        /// <summary>Bento in memory for one pipeline: accepts whole requests, or fails them (5xx, 429, exceptions, hangs).</summary>
        private sealed class Bento : HttpMessageHandler
        {
            private readonly Random _random;
            private readonly Action<IReadOnlyList<int>> _accepted;
            private readonly System.Collections.Concurrent.ConcurrentDictionary<int, CancellationToken> _hangs = new System.Collections.Concurrent.ConcurrentDictionary<int, CancellationToken>();
            private int _hangIds;
            private long _acceptedCount;

            public Bento(Random random, double faultRate, bool hangAlways, Action<IReadOnlyList<int>> accepted)
            {
                _random = random;
                FaultRate = faultRate;
                HangAlways = hangAlways;
                _accepted = accepted;
            }

            public double FaultRate { get; set; }

            /// <summary>Wave cases: the clock the answers are timed on (null: no throttling, no record).</summary>
            public Func<DateTimeOffset>? Clock { get; set; }

            /// <summary>Wave cases: the next this many requests are answered 429 with Retry-After 1 s.</summary>
            public int ThrottleNext { get => Volatile.Read(ref _throttleNext); set => Volatile.Write(ref _throttleNext, value); }

            private int _throttleNext;

            /// <summary>Wave cases: the answers given (429s and 2xx), timed.</summary>
            public List<(DateTimeOffset At, int Status)> Answers { get; } = new List<(DateTimeOffset, int)>();
            public bool HangAlways { get; set; }
            public long Accepted => Interlocked.Read(ref _acceptedCount);
            public int Hanging => _hangs.Values.Count(t => !t.IsCancellationRequested);

            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
                using var doc = JsonDocument.Parse(body);
                var ids = doc.RootElement.GetProperty("events").EnumerateArray()
                    .Select(e => e.GetProperty("details").GetProperty("id").GetInt32()).ToList();
                int roll, fault;
                lock (_random)
                {
                    roll = _random.Next(1000);
                    fault = _random.Next(6);
                }
                if (Clock != null && Interlocked.Decrement(ref _throttleNext) >= 0)
                {
                    lock (Answers) Answers.Add((Clock(), 429));
                    return Status(429, "1");
                }
                if (HangAlways || (roll < FaultRate * 1000 && fault == 0))
                {
                    var hang = Interlocked.Increment(ref _hangIds);
                    _hangs[hang] = cancellationToken;
                    try { await Task.Delay(Timeout.Infinite, cancellationToken); }
                    finally { _hangs.TryRemove(hang, out _); }
                    throw new OperationCanceledException(cancellationToken);
                }
                if (roll < FaultRate * 1000)
                {
                    switch (fault)
                    {
                        case 1: throw new HttpRequestException("connection refused");
                        case 2: return Status(429, "1");
                        case 3: return Status(503, "0");
                        case 4: return Status(408, null);
                        default: return Status(500, null);
                    }
                }
                Interlocked.Add(ref _acceptedCount, ids.Count);
                if (Clock != null) lock (Answers) Answers.Add((Clock(), 200));
                _accepted(ids);
                return new HttpResponseMessage(HttpStatusCode.OK)
                {
                    Content = new StringContent($"{{\"results\":{ids.Count},\"failed\":0}}", Encoding.UTF8, "application/json"),
                };
            }

            private static HttpResponseMessage Status(int status, string? retryAfter)
            {
                var response = new HttpResponseMessage((HttpStatusCode)status) { Content = new StringContent("{\"error\":\"scripted\"}", Encoding.UTF8, "application/json") };
                if (retryAfter != null) response.Headers.TryAddWithoutValidation("Retry-After", retryAfter);
                return response;
            }
        }

        /// <summary>The buffer's files on a disk that can fill up: while <see cref="Full"/>, segment writes and new segments fail with ENOSPC.</summary>
        private sealed class FullDisk : BentoSinks.Durable.BufferFileSystem
        {
            private int _failedWrites;

            public volatile bool Full;

            public int FailedWrites => Volatile.Read(ref _failedWrites);

            public override FileStream CreateSegment(string path)
            {
                if (Full) throw NoSpace();
                return base.CreateSegment(path);
            }

            public override void Write(FileStream stream, byte[] buffer, int count)
            {
                if (Full) throw NoSpace();
                base.Write(stream, buffer, count);
            }

            private Exception NoSpace()
            {
                Interlocked.Increment(ref _failedWrites);
                return new IOException("No space left on device", 28);
            }
        }

        private sealed class DurableCase
        {
            private const string Name = "randomized-durable";
            private readonly Random _random;
            private readonly FakeTimeProvider _time = FakeClock.New();
            private readonly StringBuilder _trace = new StringBuilder();
            private readonly string _root = Path.Combine(Path.GetTempPath(), "bento-random-" + Guid.NewGuid().ToString("N"));
            private readonly object _gate = new object();
            private readonly HashSet<int> _accepted = new HashSet<int>();
            private readonly Dictionary<int, int> _delivered = new Dictionary<int, int>();
            private readonly List<Generation> _generations = new List<Generation>();
            private readonly List<Task> _flushes = new List<Task>();
            private readonly HashSet<int> _destroyed = new HashSet<int>();
            private long _deferredOnDisk; // a lower bound of the records the next process on the directory must find
            private int _nextId;
            private FileStream? _foreignLock;
            private readonly FullDisk _disk = new FullDisk();
            private bool _rootIsFile;
            private BentoOptions _options = null!;
            private double _faultRate;

            public DurableCase(int seed) => _random = new Random(seed);

            private Generation Current => _generations[_generations.Count - 1];

            private T Pick<T>(params T[] values) => values[_random.Next(values.Length)];

            public async Task<string> RunAsync()
            {
                try
                {
                    await RunCoreAsync();
                }
                finally
                {
                    foreach (var g in _generations) await StopHardAsync(g);
                    _foreignLock?.Dispose();
                    try { if (File.Exists(_root)) File.Delete(_root); } catch (IOException) { }
                    try { if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true); } catch (IOException) { }
                }
                return _trace.ToString();
            }

            private async Task RunCoreAsync()
            {
                _options = new BentoOptions
                {
                    SiteUuid = "durable-" + Guid.NewGuid().ToString("N"),
                    PublishableKey = "pk",
                    SecretKey = "sk",
                    Endpoint = new Uri("http://127.0.0.1:1/api/v1"),
                    BatchSizeLimit = Pick(1, 3, 20, 1000),
                    QueueLimit = Pick(5, 50, 100_000),
                    MaxRequestsPerMinute = Pick(0, 2, 60, 600),
                    Period = TimeSpan.FromMilliseconds(Pick(10, 1000, 10_000)),
                    RetryTimeLimit = TimeSpan.FromSeconds(Pick(5, 60, 600)),
                    RequestTimeout = TimeSpan.FromSeconds(Pick(1, 5, 30)),
                    ShutdownTimeout = TimeSpan.FromSeconds(Pick(0, 1, 30)),
                    BufferDirectory = _root,
                    TimeProvider = _time,
                    BufferFileSystem = _disk,
                };
                _faultRate = Pick(0.0, 0.1, 0.4);
                var faults = _random.Next(2) == 0;
                _trace.Append($"options: batch={_options.BatchSizeLimit} queue={_options.QueueLimit} rpm={_options.MaxRequestsPerMinute} period={_options.Period.TotalMilliseconds}ms retry={_options.RetryTimeLimit.TotalSeconds}s timeout={_options.RequestTimeout.TotalSeconds}s shutdown={_options.ShutdownTimeout.TotalSeconds}s faults={_faultRate} directoryFaults={faults}\n");
                Open(_faultRate);

                var steps = _random.Next(3, 16);
                for (var step = 0; step < steps; step++)
                {
                    var roll = _random.Next(100);
                    if (roll < 40) Offer(_random.Next(1, 30));
                    else if (roll < 62) Advance();
                    else if (roll < 74) Flush();
                    else if (roll < 86) await CrashAsync();
                    else if (faults && roll < 89) DeleteDirectory();
                    else if (faults && roll < 92) ReplaceDirectoryWithFile();
                    else if (faults && roll < 95) await LockAndReopenAsync();
                    else if (faults && roll < 99) FillOrFreeTheDisk();
                    else Advance();
                    await SettleAsync(Current.Pipeline, () => Current.Bento.Hanging);
                    await CheckRunningAsync();
                }

                // Flushes complete by a deadline even on a broken directory: at most the retry time limit (plus the
                // request timeout and backoff) of fake time.
                Flush();
                await PumpAsync(() => _flushes.All(f => f.IsCompleted), FlushDeadline(), "every flush completes by its deadline");
                await CheckRunningAsync();

                // The last process: the directory repaired, Bento healthy. It sends what the earlier ones left.
                if (_random.Next(2) == 0) await CrashAsync(reopen: false);
                else await StopAsync(Current);
                Repair();
                _trace.Append("final process on a repaired directory, healthy Bento\n");
                Open(0);
                var last = Current;
                await PumpAsync(() => Missing().Count == 0 || (last.Pipeline.Counters.InFlight == 0 && last.Pipeline.IsParked(out _)), TimeSpan.FromHours(2), "the last process drains the directory");
                await StopAsync(last);

                lock (_gate)
                {
                    // What the earlier processes called deferred was on disk: the last one read at least that much back.
                    Check(last.Pipeline.Counters.Offered >= _deferredOnDisk, $"{_deferredOnDisk} events were counted deferred, but the next process found only {last.Pipeline.Counters.Offered} on disk; {Summary()}", _trace);
                    // Events the test itself deleted with the directory are gone by the operator's hand, not the pipeline's.
                    var missing = Missing().Where(id => !_destroyed.Contains(id)).ToList();
                    long loopDrops = _generations.Sum(g => g.Pipeline.Counters.DroppedTotal - g.CallerDrops);
                    Check(missing.Count <= loopDrops, $"{missing.Count} accepted events never reached Bento, but only {loopDrops} were counted dropped (deferred must mean on disk): missing {string.Join(",", missing.Take(20))}; {Summary()}", _trace);
                    var duplicates = _delivered.Values.Sum(n => n - 1);
                    long inFlightAtCrashes = _generations.Sum(g => g.AcceptedUncounted);
                    Check(duplicates <= inFlightAtCrashes, $"{duplicates} duplicates, but only {inFlightAtCrashes} events were accepted by Bento and not yet counted sent at crashes; {Summary()}", _trace);
                    var last2 = last.Pipeline.Counters;
                    Check(last2.InFlight == 0 && last2.Deferred == 0, "the last process left events: " + last2, _trace);
                }
            }

            /// <summary>
            /// A flush's deadline: each batch still to go settles within the retry time limit of its first attempt (plus a
            /// request timeout and the budget's spacing), on a broken directory as on a healthy one.
            /// </summary>
            private TimeSpan FlushDeadline()
            {
                var batches = (Current.Pipeline.Counters.InFlight + _options.BatchSizeLimit - 1) / _options.BatchSizeLimit + 1;
                return TimeSpan.FromTicks(batches * (_options.RetryTimeLimit + _options.RequestTimeout + TimeSpan.FromMinutes(1)).Ticks);
            }

            private List<int> Missing()
            {
                lock (_gate) return _accepted.Where(id => !_delivered.ContainsKey(id)).ToList();
            }

            private string Summary() => string.Join(" | ", _generations.Select((g, i) => $"#{i}: {g.Pipeline.Counters} bento accepted {g.Bento.Accepted}{(g.Crashed ? " crashed" : "")}"));

            private void Open(double faultRate)
            {
                var generation = new Generation { OnDisk = _foreignLock is null && !_rootIsFile, FailedWritesBefore = _disk.FailedWrites };
                generation.Bento = new Bento(new Random(_random.Next()), faultRate, hangAlways: false, ids =>
                {
                    lock (_gate) foreach (var id in ids) _delivered[id] = _delivered.TryGetValue(id, out var k) ? k + 1 : 1;
                });
                _options.MessageHandler = generation.Bento;
                var settings = _options.Validate();
                generation.Pipeline = new BentoPipeline<TestEvent>(settings, new TestFormatter(), generation.Diagnostics, Name);
                _generations.Add(generation);
                _trace.Append($"open process #{_generations.Count - 1}\n");
            }

            private void Offer(int count)
            {
                var g = Current;
                var queued = 0;
                for (var i = 0; i < count; i++)
                {
                    var id = _nextId++;
                    var e = new TestEvent { Email = $"u{id % 7}@example.com", Details = new Dictionary<string, object?> { ["id"] = id } };
                    if (g.Pipeline.TryEnqueue(e))
                    {
                        lock (_gate) _accepted.Add(id);
                        queued++;
                    }
                    else g.CallerDrops++;
                }
                _trace.Append($"offer {count} (queued {queued})\n");
            }

            private void Advance()
            {
                var ms = Pick(1, 20, 500, 1000, 10_000, 61_000);
                _trace.Append($"advance {ms} ms\n");
                _time.Advance(TimeSpan.FromMilliseconds(ms));
            }

            private void Flush()
            {
                _trace.Append("flush\n");
                _flushes.Add(Current.Pipeline.FlushAsync());
            }

            /// <summary>Drops the running pipeline with no time to flush or send, and opens the directory again.</summary>
            private async Task CrashAsync(bool reopen = true)
            {
                var g = Current;
                _trace.Append("crash\n");
                await StopHardAsync(g);
                g.Crashed = true;
                var c = g.Pipeline.Counters;
                Stopped(g);
                // Bento may have accepted the batch in flight and its answer not been read: those may come again.
                g.AcceptedUncounted = Math.Max(0, g.Bento.Accepted - c.Sent);
                Check(g.AcceptedUncounted <= _options.BatchSizeLimit, $"at the crash Bento had {g.AcceptedUncounted} events more than were counted sent: more than one batch in flight; {c}", _trace);
                Check(c.InFlight == 0, "after a hard stop nothing is in flight: " + c, _trace);
                if (reopen) Open(_faultRate);
            }

            private async Task StopHardAsync(Generation g)
            {
                var stop = g.Pipeline.ShutdownAsync(TimeSpan.Zero);
                Check(await SeededCases.EndsWithin(stop, TimeSpan.FromSeconds(15)), "a hard stop did not end", _trace);
                await stop;
            }

            private async Task StopAsync(Generation g)
            {
                _trace.Append("stop\n");
                var stop = g.Pipeline.ShutdownAsync(null);
                await PumpAsync(() => stop.IsCompleted, _options.ShutdownTimeout + TimeSpan.FromSeconds(2), "a shutdown ends by its timeout");
                await stop;
                var c = g.Pipeline.Counters;
                Stopped(g);
                Check(c.InFlight == 0, "after a shutdown nothing is in flight: " + c, _trace);
                Check(g.Bento.Accepted == c.Sent, $"after a shutdown that ended by itself Bento accepted {g.Bento.Accepted}, counted sent {c.Sent}", _trace);
            }

            /// <summary>What a stopped process left on disk: it took over what was there when it owned the directory.</summary>
            private void Stopped(Generation g)
            {
                var deferred = g.Pipeline.Counters.Deferred;
                _deferredOnDisk = g.OnDisk ? deferred : _deferredOnDisk + deferred;
            }

            private void DeleteDirectory()
            {
                _trace.Append("delete the directory\n");
                _deferredOnDisk = 0;
                lock (_gate) foreach (var id in _accepted) if (!_delivered.ContainsKey(id)) _destroyed.Add(id);
                try { if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true); }
                catch (IOException) { }
            }

            private void ReplaceDirectoryWithFile()
            {
                _trace.Append("replace the directory by a file\n");
                DeleteDirectory();
                try
                {
                    File.WriteAllText(_root, "not a directory");
                    _rootIsFile = true;
                }
                catch (IOException) { }
                catch (UnauthorizedAccessException) { }
            }

            /// <summary>Another holder (another process, as far as the pipeline can tell) holds the lock: a new process falls back to memory.</summary>
            private async Task LockAndReopenAsync()
            {
                await CrashAsync(reopen: false);
                Repair();
                _trace.Append("lock held by another holder\n");
                var folder = Path.Combine(_root, Name);
                Directory.CreateDirectory(folder);
                _foreignLock = new FileStream(Path.Combine(folder, "buffer.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                Open(_faultRate);
            }

            /// <summary>
            /// The disk fills up (writes of segment data fail with ENOSPC) or gets room again. While full, new events are
            /// kept in memory (an error in the app's log) and counted honestly; the directory is tried again (real time,
            /// 1 s doubling), and with room again new events go to disk.
            /// </summary>
            private void FillOrFreeTheDisk()
            {
                _disk.Full = !_disk.Full;
                _trace.Append(_disk.Full ? "the disk is full\n" : "the disk has room again\n");
            }

            /// <summary>
            /// Once a write failed for a full disk, the running pipeline has said in the app's log, at Error, that the buffer
            /// directory failed (the first such error says why; later ones of the same kind may be rate-limited).
            /// </summary>
            private void CheckFullDiskReported(Generation g)
            {
                if (_disk.FailedWrites == g.FailedWritesBefore) return;
                Check(g.Diagnostics.Lines.Any(l => l.StartsWith("ERROR", StringComparison.Ordinal) && l.Contains("buffer directory failed", StringComparison.Ordinal)),
                    "a write failed for a full disk, but no error says so: " + g.Diagnostics.All, _trace);
            }

            private void Repair()
            {
                _disk.Full = false;
                _foreignLock?.Dispose();
                _foreignLock = null;
                if (_rootIsFile) File.Delete(_root);
                _rootIsFile = false;
            }

            private async Task CheckRunningAsync()
            {
                for (var attempt = 0; ; attempt++)
                {
                    try
                    {
                        var g = Current;
                        var c = g.Pipeline.Counters;
                        Check(c.InFlight >= 0, "in flight is negative: " + c, _trace);
                        Check(c.Deferred == 0, "deferred while running: " + c, _trace);
                        Check(c.Offered == c.Sent + c.DroppedTotal + c.Deferred + c.InFlight, "offered = sent + dropped + deferred + in flight: " + c, _trace);
                        Check(c.Sent <= g.Bento.Accepted, $"counted sent {c.Sent}, Bento accepted {g.Bento.Accepted}", _trace);
                        if (g.Bento.Hanging == 0) Check(c.Sent == g.Bento.Accepted, $"settled: counted sent {c.Sent}, Bento accepted {g.Bento.Accepted}", _trace);
                        Check(!g.Pipeline.LoopCompleted, "the loop ended before disposal", _trace);
                        foreach (var f in _flushes) Check(!f.IsFaulted, "a flush faulted: " + f.Exception, _trace);
                        CheckFullDiskReported(g);
                        return;
                    }
                    catch (InvalidOperationException) when (attempt < 20)
                    {
                        for (var y = 0; y < 100; y++) await Task.Yield();
                        await SettleAsync(Current.Pipeline, () => Current.Bento.Hanging);
                    }
                }
            }

            private async Task PumpAsync(Func<bool> done, TimeSpan deadline, string what)
            {
                var start = _time.GetUtcNow();
                var step = TimeSpan.FromSeconds(1);
                while (!done() && _time.GetUtcNow() - start < deadline)
                {
                    await SettleAsync(Current.Pipeline, () => Current.Bento.Hanging);
                    await Task.Yield();
                    if (done()) break;
                    _time.Advance(_time.GetUtcNow() - start > TimeSpan.FromMinutes(1) ? TimeSpan.FromSeconds(10) : step);
                }
                // Work the last clock step started (a request's answer on the pool) ends while the clock stands still.
                var grace = System.Diagnostics.Stopwatch.StartNew();
                while (!done() && grace.Elapsed < TimeSpan.FromSeconds(2))
                {
                    await SettleAsync(Current.Pipeline, () => Current.Bento.Hanging);
                    await Task.Yield();
                }
                Check(done(), $"never reached within {deadline.TotalSeconds} s of fake time: {what}; {Summary()}", _trace);
            }

            private sealed class Generation
            {
                public BentoPipeline<TestEvent> Pipeline { get; set; } = null!;
                public Bento Bento { get; set; } = null!;
                public long CallerDrops { get; set; }
                public bool Crashed { get; set; }
                public bool OnDisk { get; set; }
                public long AcceptedUncounted { get; set; }
                public ListDiagnostics Diagnostics { get; } = new ListDiagnostics();
                public int FailedWritesBefore { get; set; }
            }
        }

        private sealed class WaveCase
        {
            private readonly Random _random;
            private readonly FakeTimeProvider _time = FakeClock.New();
            private readonly StringBuilder _trace = new StringBuilder();
            private readonly string _site = "wave-" + Guid.NewGuid().ToString("N");

            private readonly WaveWalk _walk;
            private readonly Dictionary<BentoPipeline<TestEvent>, ListDiagnostics> _diagnostics = new Dictionary<BentoPipeline<TestEvent>, ListDiagnostics>();

            public WaveCase(int seed, WaveWalk walk)
            {
                _random = new Random(seed);
                _walk = walk;
            }

            private T Pick<T>(params T[] values) => values[_random.Next(values.Length)];

            public async Task<string> RunAsync()
            {
                var members = new List<(BentoPipeline<TestEvent> Pipeline, Bento Bento, TimeSpan Timeout)>();
                try
                {
                    var count = _random.Next(2, 7);
                    for (var i = 0; i < count; i++)
                    {
                        var hangs = _random.Next(3) == 0;
                        var timeout = TimeSpan.FromSeconds(Pick(0, 1, 2, 4, 10));
                        var bento = new Bento(new Random(_random.Next()), 0, hangs, _ => { }) { Clock = _time.GetUtcNow };
                        // The account's budget takes the smallest: 2 a minute makes a 429's spread 15 s (past most deadlines).
                        var perMinute = Pick(2, 20);
                        members.Add((New(bento, timeout, TimeSpan.FromSeconds(60), perMinute), bento, timeout));
                        _trace.Append($"pipeline {i}: shutdown {timeout.TotalSeconds}s, {perMinute} a minute{(hangs ? ", requests hang" : "")}\n");
                    }
                    foreach (var m in members) Offer(m.Pipeline, _random.Next(1, 40));
                    _time.Advance(TimeSpan.FromMilliseconds(Pick(0, 10, 2000)));
                    foreach (var m in members) await SettleAsync(m.Pipeline, () => m.Bento.Hanging);

                    // Waves: each takes the next few pipelines and stops them together.
                    var left = members.ToList();
                    var first = true;
                    while (left.Count > 0)
                    {
                        // A wave that starts over a second after the last one ended has its own deadlines (ShutdownWindow.Chain).
                        var apart = first || _random.Next(2) == 0;
                        if (!first && apart) _time.Advance(ShutdownWindow.Chain + TimeSpan.FromMilliseconds(500));
                        first = false;
                        var wave = left.Take(_random.Next(1, left.Count + 1)).ToList();
                        left = left.Skip(wave.Count).ToList();
                        _trace.Append($"wave of {wave.Count}\n");
                        // Some stop into a 429 (Retry-After 1 s): its spread is redrawn within the time left, or it gives up.
                        var throttled = wave.Select(m => m.Bento.ThrottleNext = _random.Next(3) == 0 ? 0 : Pick(1, 1, 2)).ToList();
                        _trace.Append("  429s first: " + string.Join(", ", throttled) + "\n");
                        var redrawnBefore = RedrawnIn(members);
                        var answered = wave.Select(m => { lock (m.Bento.Answers) return m.Bento.Answers.Count; }).ToList();
                        var start = _time.GetUtcNow();
                        var stops = wave.Select(m => (m, Task: m.Pipeline.ShutdownAsync(null))).ToList();
                        var latest = wave.Max(m => m.Timeout);
                        // Fake time runs in 100 ms steps to the latest deadline; every stop must have ended by its own.
                        for (var elapsed = TimeSpan.Zero; ; elapsed += TimeSpan.FromMilliseconds(100))
                        {
                            foreach (var (m, task) in stops)
                            {
                                if (elapsed < m.Timeout + TimeSpan.FromMilliseconds(100)) continue;
                                await SeededCases.EndsWithin(task, TimeSpan.FromSeconds(8));
                                Check(task.IsCompleted, $"a shutdown outlived its deadline ({m.Timeout.TotalSeconds} s; now {elapsed.TotalSeconds} s): {m.Pipeline.Counters}", _trace);
                            }
                            if (stops.All(s => s.Task.IsCompleted) || elapsed > latest + TimeSpan.FromSeconds(1)) break;
                            foreach (var m in wave) await SettleAsync(m.Pipeline, () => m.Bento.Hanging);
                            _time.Advance(TimeSpan.FromMilliseconds(100));
                        }
                        foreach (var (m, task) in stops)
                        {
                            await task;
                            var c = m.Pipeline.Counters;
                            Check(c.InFlight == 0 && c.Offered == c.Sent + c.DroppedTotal, "after a shutdown the counts add up, nothing in flight: " + c, _trace);
                            // A stop that reached its deadline cuts the request in hand: Bento may have accepted that one batch
                            // while the pipeline counted it `shutdown` (the documented hard-stop case); never more, never sent twice.
                            var uncounted = m.Bento.Accepted - c.Sent;
                            Check(uncounted >= 0 && (uncounted == 0 || uncounted <= Math.Min(100, c.Dropped(DropReason.Shutdown))),
                                $"counted sent {c.Sent}, Bento accepted {m.Bento.Accepted}, counted shutdown {c.Dropped(DropReason.Shutdown)}", _trace);
                        }
                        CheckThrottledStops(wave, answered, start, apart);
                        var redrawn = RedrawnIn(members) - redrawnBefore;
                        _trace.Append($"  spreads redrawn: {redrawn}\n");
                        Interlocked.Add(ref _walk.Redrawn, redrawn);
                        foreach (var m in wave) m.Bento.ThrottleNext = 0;
                    }

                    // A later pipeline on the healthy account delivers everything.
                    var healthy = new Bento(new Random(_random.Next()), 0, false, _ => { });
                    var later = New(healthy, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60));
                    members.Add((later, healthy, TimeSpan.FromSeconds(30)));
                    var n = _random.Next(1, 50);
                    Offer(later, n);
                    var stop = later.ShutdownAsync(null);
                    for (var i = 0; i < 400 && !stop.IsCompleted; i++)
                    {
                        await SettleAsync(later, () => healthy.Hanging);
                        if (stop.IsCompleted) break;
                        _time.Advance(TimeSpan.FromMilliseconds(100));
                    }
                    Check(await SeededCases.EndsWithin(stop, TimeSpan.FromSeconds(8)), "the later pipeline did not stop: " + later.Counters, _trace);
                    await stop;
                    Check(later.Counters.Sent == n && healthy.Accepted == n, $"a later pipeline on a healthy account delivered {later.Counters.Sent} of {n}: {later.Counters}", _trace);
                }
                finally
                {
                    foreach (var m in members) m.Pipeline.ShutdownAsync(TimeSpan.Zero).Wait(TimeSpan.FromSeconds(10));
                }
                Interlocked.Increment(ref _walk.Cases);
                return _trace.ToString();
            }

            /// <summary>The redraws of the budgets the members used (one shared per account while a member holds it; a new one after all left).</summary>
            private static int RedrawnIn(List<(BentoPipeline<TestEvent> Pipeline, Bento Bento, TimeSpan Timeout)> members)
                => members.Select(m => m.Pipeline.Budget).Distinct().Sum(b => b.SpreadsRedrawn);

            /// <summary>
            /// A wave of one apart from the last (its own deadline) that is not hanging, refused once (Retry-After 1 s) with at least 4 s to its deadline: the budget
            /// fits the retry before the deadline (less its 2 s margin), so the refused batch is retried and accepted in time.
            /// </summary>
            private void CheckThrottledStops(List<(BentoPipeline<TestEvent> Pipeline, Bento Bento, TimeSpan Timeout)> wave, List<int> answered, DateTimeOffset start, bool apart)
            {
                for (var i = 0; i < wave.Count; i++)
                {
                    var m = wave[i];
                    List<(DateTimeOffset At, int Status)> answers;
                    lock (m.Bento.Answers) answers = m.Bento.Answers.Skip(answered[i]).ToList();
                    var deadline = start + m.Timeout;
                    foreach (var a in answers) _trace.Append($"  pipeline answered {a.Status} at +{(a.At - start).TotalSeconds:0.0}s\n");
                    var refusals = answers.Where(a => a.Status == 429).ToList();
                    if (refusals.Count == 0) continue;
                    Interlocked.Increment(ref _walk.Throttled);
                    var retried = answers.Any(a => a.Status == 200 && a.At > refusals[0].At && a.At <= deadline);
                    if (retried) Interlocked.Increment(ref _walk.Retried);
                    if (apart && wave.Count == 1 && !m.Bento.HangAlways && refusals.Count == 1 && deadline - refusals[0].At >= TimeSpan.FromSeconds(4))
                    {
                        Interlocked.Increment(ref _walk.Checked);
                        Check(retried, $"refused once (Retry-After 1 s) with {(deadline - refusals[0].At).TotalSeconds:0.0} s left, the batch was not retried before the deadline: {m.Pipeline.Counters}; {_diagnostics[m.Pipeline].All}", _trace);
                    }
                }
            }

            private BentoPipeline<TestEvent> New(Bento bento, TimeSpan shutdown, TimeSpan requestTimeout, int perMinute = BentoOptions.DefaultMaxRequestsPerMinute)
            {
                var options = new BentoOptions
                {
                    SiteUuid = _site,
                    PublishableKey = "pk",
                    SecretKey = "sk",
                    Endpoint = new Uri("http://127.0.0.1:1/api/v1"),
                    BatchSizeLimit = Pick(5, 100),
                    Period = TimeSpan.FromMilliseconds(Pick(10, 1000)),
                    RequestTimeout = requestTimeout,
                    ShutdownTimeout = shutdown,
                    MaxRequestsPerMinute = perMinute,
                    TimeProvider = _time,
                    MessageHandler = bento,
                };
                var settings = options.Validate();
                settings.WarningInterval = TimeSpan.Zero;
                var diagnostics = new ListDiagnostics();
                var pipeline = new BentoPipeline<TestEvent>(settings, new TestFormatter(), diagnostics, "wave");
                _diagnostics[pipeline] = diagnostics;
                return pipeline;
            }

            private static void Offer(BentoPipeline<TestEvent> pipeline, int count)
            {
                for (var i = 0; i < count; i++)
                    pipeline.TryEnqueue(new TestEvent { Email = "u@example.com", Details = new Dictionary<string, object?> { ["id"] = i } });
            }
        }
    }
}
