using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using BentoSinks.Diagnostics;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    internal sealed partial class LoggerProgram
    {
        private long Expected(Func<Planned, bool> which) => _records.Count(r => r.Business && which(r));

        /// <summary>The checks that hold after every step (see the class summary).</summary>
        private async Task CheckAsync()
        {
            var offered = Expected(_ => true);
            var noEmail = Expected(r => !r.Excluded && r.Email is null);
            var excluded = Expected(r => r.Excluded);
            var status = BentoDeliveryStatus.GetPipelines().FirstOrDefault(p => p.Name == _probe.Pipeline);
            if (!_disposed) Assert.True(status != null, "the pipeline is no longer listed in BentoDeliveryStatus before disposal");
            if (status != null) Assert.True(status.Offered == offered, $"offered {status.Offered}, but the program wrote {offered} business events (plain lines must not count)");
            Assert.True(_probe.DroppedFor("no_email") == noEmail, $"no_email {_probe.DroppedFor("no_email")}, expected {noEmail}: {_probe.Describe()}");
            Assert.True(_probe.DroppedFor("excluded") == excluded, $"excluded {_probe.DroppedFor("excluded")}, expected {excluded}: {_probe.Describe()}");
            if (!_disposed) Assert.True(_probe.DroppedFor("shutdown") == 0, "events counted shutdown before disposal: " + _probe.Describe());

            // The balance is read from three instruments while the loop may be counting: a mismatch must last to fail.
            var balanced = await Eventually.Reached(() => _probe.Sent + _probe.DroppedTotal + _probe.QueueDepth() == offered, TimeSpan.FromSeconds(10));
            Assert.True(balanced, $"sent + dropped + queue depth = {_probe.Sent} + {_probe.DroppedTotal} + {_probe.QueueDepth()}, offered {offered}: {_probe.Describe()}");
            if (status != null && !_disposed)
                Assert.True(await Eventually.Reached(() => Matches(status.Name), TimeSpan.FromSeconds(10)), "the meter and BentoDeliveryStatus disagree: " + _probe.Describe());

            CheckAccepted();
            // An answer is logged by the handler before the pipeline counts what it cost: a mismatch must last to fail.
            string? causes = null;
            await Eventually.Reached(() => (causes = CheckCauses()) is null, TimeSpan.FromSeconds(10));
            Assert.True(causes is null, causes);
        }

        private bool Matches(string name)
        {
            var s = BentoDeliveryStatus.GetPipelines().FirstOrDefault(p => p.Name == name);
            return s != null && s.Sent == _probe.Sent && s.DroppedTotal == _probe.DroppedTotal;
        }

        /// <summary>Every accepted event: one the program wrote as a business event, of its type and email, of the predicted length, once.</summary>
        private void CheckAccepted()
        {
            var sentBefore = _probe.Sent; // read first: the emulator records an event before the answer that makes it sent
            var events = _emulator.Events;
            var seen = new Dictionary<int, int>();
            foreach (var e in events)
            {
                using var doc = JsonDocument.Parse(e.Json.GetRawText());
                var root = doc.RootElement;
                var id = root.GetProperty("details").GetProperty("id").GetInt32();
                seen[id] = seen.TryGetValue(id, out var n) ? n + 1 : 1;
                if (!_checkedAccepted.Add(id)) continue;
                Assert.True(id >= 0 && id < _records.Count, $"an event with an id the program never wrote: {id}");
                var r = _records[id];
                Assert.True(r.Business, $"plain line #{id} ({r.How}) arrived as a {e.Type} event");
                Assert.True(r.Deliverable, $"#{id} ({r.How}) arrived but must have been dropped (email {r.Email ?? "none"}, excluded {r.Excluded}, oversized {r.Oversized})");
                Assert.True(e.Type == r.Type, $"#{id} ({r.How}) arrived as type {e.Type}, written as {r.Type}");
                Assert.True(e.Email == r.Email, $"#{id} ({r.How}) arrived for {e.Email}, expected {r.Email}");
                var length = Encoding.UTF8.GetByteCount(root.GetRawText());
                Assert.True(length == r.Length, $"#{id} ({r.How}) is {length} bytes of JSON, predicted {r.Length}: {Truncated(root.GetRawText())}");
            }
            var duplicates = seen.Values.Sum(c => c - 1);
            Assert.True(duplicates <= _answers.EventsInCutRequests, $"{duplicates} events arrived twice, but only {_answers.EventsInCutRequests} were in requests our timeout cut (the documented duplicate)");
            Assert.True(sentBefore <= events.Count, $"sent {sentBefore} > {events.Count} accepted by the emulator");

            // Plain lines and events too large alone are never in any request at all.
            foreach (var id in _answers.IdsSent)
            {
                var r = _records[id];
                Assert.True(r.Business && !r.Excluded && r.Email != null && !r.Invalid, $"#{id} ({r.How}) was sent but is not a deliverable business event");
                Assert.True(!r.Oversized, $"#{id} ({r.How}) is too large alone ({r.Length} B of JSON, MaxRequestBytes {_options.MaxRequestBytes}) but was sent");
            }
        }

        private static string Truncated(string s) => s.Length <= 300 ? s : s.Substring(0, 300) + "…";

        /// <summary>A reason that needs a certain answer appears only after such an answer; null when all hold, else what failed.</summary>
        private string? CheckCauses()
        {
            var a = _answers.Snapshot();
            var oversized = Expected(r => r.Oversized && !r.Excluded && r.Email != null && !r.Invalid);
            var singles400 = a.Count(x => x.Ids.Length == 1 && (x.Status == 400 || x.Status == 422));
            var singles413 = a.Count(x => x.Ids.Length == 1 && x.Status == 413);
            var unconfirmed = a.Where(x => x.Kind == "unconfirmed").Sum(x => x.Ids.Length);
            var stopped = _probe.DroppedFor("shutdown") > 0;
            var failures = new List<string>();
            void Check(bool condition, string message)
            {
                if (!condition) failures.Add(message);
            }
            void Exact(string reason, long expected)
            {
                var got = _probe.DroppedFor(reason);
                Check(stopped ? got <= expected : got == expected, $"{reason} {got}, expected {(stopped ? "at most " : "")}{expected}");
            }
            Exact("rejected", singles400);
            Exact("unconfirmed", unconfirmed);
            // An oversized event refused by a full queue is counted queue_full, one still queued at a hard stop shutdown:
            // never serialized, never too_large; at most, then.
            var tooLarge = _probe.DroppedFor("too_large");
            var exact = !stopped && _probe.DroppedFor("queue_full") == 0 && _probe.QueueDepth() == 0;
            Check(tooLarge <= oversized + singles413 && (!exact || tooLarge == oversized + singles413),
                $"too_large {tooLarge}, expected {oversized} too large alone + {singles413} single-event 413s");
            if (!a.Any(x => x.Status == 401 || x.Status == 403)) Check(_probe.DroppedFor("unauthorized") == 0, "unauthorized without a 401/403");
            if (!a.Any(x => x.Retryable)) Check(_probe.DroppedFor("retries_exhausted") == 0, "retries_exhausted without a transient failure");
            if (_options.QueueLimit >= 100_000) Check(_probe.DroppedFor("queue_full") == 0, "queue_full below the queue limit");
            // Invalid built-in events are found when serialized on the loop: one still queued at a hard stop, or refused by a
            // full queue, is counted shutdown or queue_full instead.
            var invalid = Expected(r => r.Invalid && !r.Excluded && r.Email != null);
            var got = _probe.DroppedFor("invalid");
            Check(got <= invalid && (!exact || got == invalid), $"invalid {got}, expected {invalid}");
            foreach (var reason in new[] { "corrupt", "buffer_full", "expired", "buffer_lost" })
                Check(_probe.DroppedFor(reason) == 0, $"{reason} in a memory pipeline of valid events");
            return failures.Count == 0 ? null : string.Join("; ", failures) + $": {_probe.Describe()}; answers: {Describe(a)}";
        }

        private static string Describe(IReadOnlyList<AnswerLog.Seen> answers)
            => string.Join(", ", answers.GroupBy(x => $"{x.Status}/{x.Kind}/{(x.Ids.Length == 1 ? "1" : "n")}").Select(g => $"{g.Key}×{g.Count()}"));

        /// <summary>After disposal: everything settled, and every event sent once or counted once.</summary>
        private void FinalCheck()
        {
            var offered = Expected(_ => true);
            Assert.True(_probe.QueueDepth() == 0, "events still in flight after disposal: " + _probe.Describe());
            Assert.True(_probe.Sent + _probe.DroppedTotal == offered, $"after disposal sent + dropped = {_probe.Sent + _probe.DroppedTotal}, offered {offered}: {_probe.Describe()}");
            var accepted = _emulator.Events.Select(e => e.Json.GetProperty("details").GetProperty("id").GetInt32()).Distinct().Count();
            // Accepted yet counted dropped: a request cut by the hard stop after Bento accepted it is counted shutdown (at
            // most one batch, reliability.md), and one cut by our own timeout after Bento accepted it is retried, so if its
            // retries then fail it is counted too (at most the events of cut requests).
            var surplus = accepted - _probe.Sent;
            var allowed = (_probe.DroppedFor("shutdown") > 0 ? _options.BatchSizeLimit : 0) + _answers.EventsInCutRequests;
            Assert.True(surplus >= 0 && surplus <= allowed,
                $"{accepted} distinct events accepted, {_probe.Sent} counted sent (at most {allowed} accepted and counted dropped): {_probe.Describe()}");
            var undelivered = _records.Count(r => r.Business) - accepted;
            Assert.True(_probe.DroppedTotal == undelivered + surplus, $"{undelivered} business events not delivered, {_probe.DroppedTotal} counted dropped: {_probe.Describe()}");
        }

        /// <summary>
        /// The app's own message handler in front of the real one: sees every request's events and its answer, and throws
        /// when armed (before sending, so nothing reached Bento), as a hostile or broken handler would.
        /// </summary>
        internal sealed class AnswerLog : DelegatingHandler
        {
            private readonly object _gate = new object();
            private readonly List<Seen> _seen = new List<Seen>();
            private readonly HashSet<int> _ids = new HashSet<int>();
            private int _armed;
            private int _throwKind;
            private int _inFlight;
            private long _cutEvents;

            private readonly TimeProvider _time;
            private readonly ConcurrentDictionary<int, DateTimeOffset> _outSince = new ConcurrentDictionary<int, DateTimeOffset>();
            private int _requestIds;

            public AnswerLog(TimeProvider time) : base(new SocketsHttpHandler { AllowAutoRedirect = false }) => _time = time;

            /// <summary>How long (on the fake clock) the oldest request still out has been out; zero when none is.</summary>
            public TimeSpan OldestOut()
            {
                var now = _time.GetUtcNow();
                var oldest = TimeSpan.Zero;
                foreach (var since in _outSince.Values) if (now - since > oldest) oldest = now - since;
                return oldest;
            }

            internal sealed record Seen(int[] Ids, int Status, string Kind)
            {
                public bool Retryable => Status == 408 || Status == 429 || Status >= 500 || Kind is "html" or "thrown" or "failed" or "cut";
            }

            public int InFlight => Volatile.Read(ref _inFlight);
            public int ArmedThrows => Volatile.Read(ref _armed);
            public long EventsInCutRequests => Interlocked.Read(ref _cutEvents);
            public int Count { get { lock (_gate) return _seen.Count; } }
            public int[] IdsSent { get { lock (_gate) return _ids.ToArray(); } }
            public IReadOnlyList<Seen> Snapshot() { lock (_gate) return _seen.ToList(); }

            public void ThrowNext(int count, int kind)
            {
                Volatile.Write(ref _throwKind, kind);
                Interlocked.Add(ref _armed, count);
            }

            private void Record(int[] ids, int status, string kind)
            {
                lock (_gate)
                {
                    _seen.Add(new Seen(ids, status, kind));
                    foreach (var id in ids) _ids.Add(id);
                }
            }

            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref _inFlight);
                var requestId = Interlocked.Increment(ref _requestIds);
                _outSince[requestId] = _time.GetUtcNow();
                try
                {
                    var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                    int[] ids;
                    using (var doc = JsonDocument.Parse(body))
                        ids = doc.RootElement.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("details").GetProperty("id").GetInt32()).ToArray();
                    if (TryDisarm())
                    {
                        Record(ids, 0, "thrown");
                        if (Volatile.Read(ref _throwKind) == 4) return null!; // a handler that answers nothing: HttpClient throws for it
                        throw Volatile.Read(ref _throwKind) switch
                        {
                            0 => new InvalidOperationException("a broken handler"),
                            1 => new HttpRequestException("connection refused by a proxy"),
                            2 => new IOException("a proxy hung up"),
                            _ => new TaskCanceledException("a handler's own timeout"),
                        };
                    }
                    HttpResponseMessage response;
                    try
                    {
                        response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        Interlocked.Add(ref _cutEvents, ids.Length);
                        Record(ids, 0, "cut");
                        throw;
                    }
                    catch (Exception)
                    {
                        Record(ids, 0, "failed");
                        throw;
                    }
                    var status = (int)response.StatusCode;
                    var kind = "answer";
                    if (status >= 200 && status <= 299)
                    {
                        await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
                        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                        kind = text.TrimStart().StartsWith("<", StringComparison.Ordinal) ? "html" : HasResults(text) ? "ok" : "unconfirmed";
                    }
                    Record(ids, status, kind);
                    return response;
                }
                finally
                {
                    _outSince.TryRemove(requestId, out _);
                    Interlocked.Decrement(ref _inFlight);
                }
            }

            /// <summary>Bento's JSON result: an object with a numeric <c>results</c>.</summary>
            private static bool HasResults(string text)
            {
                try
                {
                    using var doc = JsonDocument.Parse(text);
                    return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("results", out var r) && r.ValueKind == JsonValueKind.Number;
                }
                catch (JsonException)
                {
                    return false;
                }
            }

            private bool TryDisarm()
            {
                while (true)
                {
                    var armed = Volatile.Read(ref _armed);
                    if (armed <= 0) return false;
                    if (Interlocked.CompareExchange(ref _armed, armed - 1, armed) == armed) return true;
                }
            }
        }

        /// <summary>The pipeline's accounting as an app reads it: the <c>BentoSinks.Core</c> meter, for this pipeline's tag exactly.</summary>
        internal sealed class Probe : IDisposable
        {
            private readonly MeterListener _listener = new MeterListener();
            private readonly ConcurrentDictionary<string, long> _dropped = new ConcurrentDictionary<string, long>();
            private long _sent;
            private long _depth;

            public Probe()
            {
                _listener.InstrumentPublished = (i, l) => { if (i.Meter.Name == "BentoSinks.Core") l.EnableMeasurementEvents(i); };
                _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
                {
                    string? reason = null, pipeline = null;
                    foreach (var t in tags)
                    {
                        if (t.Key == "reason") reason = t.Value as string;
                        if (t.Key == "bento.pipeline") pipeline = t.Value as string;
                    }
                    if (pipeline is null || pipeline != Pipeline) return;
                    if (instrument.Name == "bento.events.sent") Interlocked.Add(ref _sent, value);
                    else if (instrument.Name == "bento.events.dropped" && reason != null) _dropped.AddOrUpdate(reason, value, (_, v) => v + value);
                    else if (instrument.Name == "bento.queue.depth") Interlocked.Exchange(ref _depth, value);
                });
                _listener.Start();
            }

            /// <summary>The <c>bento.pipeline</c> tag of the pipeline under test.</summary>
            public string? Pipeline { get; set; }
            public long Sent => Interlocked.Read(ref _sent);
            public long DroppedTotal => _dropped.Values.Sum();
            public IReadOnlyDictionary<string, long> Dropped => _dropped;
            public long DroppedFor(string reason) => _dropped.TryGetValue(reason, out var n) ? n : 0;

            /// <summary>The <c>bento.queue.depth</c> gauge now (0 once the pipeline's meter is gone).</summary>
            public long QueueDepth()
            {
                Interlocked.Exchange(ref _depth, 0);
                _listener.RecordObservableInstruments();
                return Interlocked.Read(ref _depth);
            }

            public string Describe() => $"sent {Sent}, dropped {DroppedTotal} [{string.Join(", ", _dropped.Select(kv => $"{kv.Key}={kv.Value}"))}], queue depth {QueueDepth()}";

            public void Dispose() => _listener.Dispose();
        }
    }
}
