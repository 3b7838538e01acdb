using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Bento.Emulator
{
    /// <summary>
    /// Bento's batch events API on loopback, on a real Kestrel server: the same credentials, User-Agent, site UUID and
    /// body rules as Bento, an optional rate limit, fault injection, and a thread-safe record of what it received.
    /// </summary>
    public sealed class BentoEmulator : IAsyncDisposable
    {
        private readonly BentoEmulatorOptions _options;
        private readonly WebApplication _app;
        private readonly object _gate = new object();
        private readonly List<ReceivedRequest> _requests = new List<ReceivedRequest>();
        private readonly List<ReceivedEvent> _events = new List<ReceivedEvent>();
        private readonly Queue<Fault> _script = new Queue<Fault>();
        private readonly Queue<DateTimeOffset> _window = new Queue<DateTimeOffset>();
        private readonly Dictionary<string, int> _countsByType = new Dictionary<string, int>(StringComparer.Ordinal);
        private readonly string _expectedAuthorization;
        private Random? _random;
        private double _randomRate;
        private Fault[] _randomFaults = Array.Empty<Fault>();
        private int _eventCount;
        private int _requestsStarted;
        private TaskCompletionSource<bool> _changed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        private BentoEmulator(BentoEmulatorOptions options, WebApplication app)
        {
            _options = options;
            _app = app;
            _expectedAuthorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(options.PublishableKey + ":" + options.SecretKey));
        }

        /// <summary>The server's root, e.g. <c>http://127.0.0.1:54321/</c>.</summary>
        public Uri BaseAddress { get; private set; } = null!;

        /// <summary>The API base to configure a client with: <c>{BaseAddress}api/v1</c>.</summary>
        public Uri ApiBase => new Uri(BaseAddress, "api/v1");

        /// <summary>The options the emulator runs with.</summary>
        public BentoEmulatorOptions Options => _options;

        /// <summary>A snapshot of every request received, in arrival order.</summary>
        public IReadOnlyList<ReceivedRequest> Requests { get { lock (_gate) return _requests.ToArray(); } }

        /// <summary>A snapshot of every event accepted, in arrival order (empty when <see cref="BentoEmulatorOptions.RecordEvents"/> is off).</summary>
        public IReadOnlyList<ReceivedEvent> Events { get { lock (_gate) return _events.ToArray(); } }

        /// <summary>How many requests have reached the handler, including those still being answered.</summary>
        public int RequestsStarted => Volatile.Read(ref _requestsStarted);

        /// <summary>How many events were accepted.</summary>
        public int EventCount => Volatile.Read(ref _eventCount);

        /// <summary>Accepted events counted by type.</summary>
        public IReadOnlyDictionary<string, int> CountsByType { get { lock (_gate) return new Dictionary<string, int>(_countsByType); } }

        /// <summary>When set, an event for which it returns true is refused: the request gets <see cref="PoisonStatus"/> (400 by default) naming its index.</summary>
        public Func<JsonElement, bool>? Poison { get; set; }

        /// <summary>
        /// The status answered for a request holding an event <see cref="Poison"/> refuses: 400 by default, or e.g. 422
        /// (Bento's "failed a business rule"). The body names the refused event's index either way.
        /// </summary>
        public int PoisonStatus { get; set; } = 400;

        /// <summary>Starts an emulator; with default options it listens on 127.0.0.1 on a free port.</summary>
        public static async Task<BentoEmulator> StartAsync(BentoEmulatorOptions? options = null, CancellationToken cancellationToken = default)
        {
            options ??= new BentoEmulatorOptions();
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = Array.Empty<string>() });
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls(options.Url);
            builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 256L * 1024 * 1024);
            var app = builder.Build();
            var emulator = new BentoEmulator(options, app);
            app.MapPost("/api/v1/batch/events", emulator.HandleBatchAsync);
            // Peers' ingestion routes, for side-by-side benchmarks on the same loopback server.
            app.MapPost("/ingest/clef", emulator.HandleSeqAsync);
            app.MapPost("/api/events/raw", emulator.HandleSeqAsync);
            app.MapPost("/v1/traces", emulator.HandleOtlpAsync);
            app.MapPost("/v1/logs", emulator.HandleOtlpAsync);
            // Counters for a client in another process (benchmarks run the emulator out of process).
            app.MapGet("/_emulator/stats", (HttpContext c) => c.Response.WriteAsJsonAsync(new
            {
                bento_events = emulator.EventCount,
                bento_requests = emulator.Requests.Count,
                seq_events = emulator.SeqEventCount,
                otlp_requests = emulator.OtlpRequestCount,
            }));
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            emulator.BaseAddress = new Uri(address.EndsWith("/", StringComparison.Ordinal) ? address : address + "/");
            return emulator;
        }

        /// <summary>Queues faults for the next requests, one per request, in order.</summary>
        public void EnqueueFaults(params Fault[] faults)
        {
            lock (_gate) foreach (var f in faults) _script.Enqueue(f);
        }

        /// <summary>Injects one of <paramref name="faults"/> (chosen by a seeded generator) into a <paramref name="rate"/> share of requests.</summary>
        public void SetRandomFaults(double rate, int seed, params Fault[] faults)
        {
            lock (_gate)
            {
                _random = new Random(seed);
                _randomRate = rate;
                _randomFaults = faults;
            }
        }

        /// <summary>Stops injecting faults (scripted and random).</summary>
        public void ClearFaults()
        {
            lock (_gate)
            {
                _script.Clear();
                _random = null;
                _randomRate = 0;
            }
        }

        /// <summary>How many requests have been answered (or aborted) so far.</summary>
        public int RequestCount { get { lock (_gate) return _requests.Count; } }

        /// <summary>
        /// Drives a fake clock shared with a client under test: until <paramref name="done"/> holds, lets the request
        /// being answered finish first (up to 200 ms of real time, awaiting the emulator's own signal, and while
        /// <paramref name="clientBusy"/> says the client still has a request on its way), then calls
        /// <paramref name="advance"/>. Moving the clock during an answer would turn it into a client timeout.
        /// Returns whether <paramref name="done"/> was reached within <paramref name="maxSteps"/> steps.
        /// </summary>
        public async Task<bool> AdvanceClockUntilAsync(Func<bool> done, Action advance, int maxSteps = 20_000, Func<bool>? clientBusy = null)
        {
            for (var step = 0; step < maxSteps; step++)
            {
                if (done()) return true;
                await WhileAnsweringAsync(clientBusy, TimeSpan.FromMilliseconds(200)).ConfigureAwait(false);
                if (done()) return true;
                advance();
            }
            return done();
        }

        private async Task WhileAnsweringAsync(Func<bool>? clientBusy, TimeSpan max)
        {
            // Always give the client a moment to act on the last answer before time moves.
            await Task.Delay(1).ConfigureAwait(false);
            var started = System.Diagnostics.Stopwatch.StartNew();
            while (started.Elapsed < max && (RequestsStarted > RequestCount || clientBusy?.Invoke() == true))
            {
                Task changed;
                lock (_gate) changed = _changed.Task;
                await Task.WhenAny(changed, Task.Delay(2)).ConfigureAwait(false);
            }
        }

        /// <summary>Waits until at least <paramref name="count"/> events were accepted; throws <see cref="TimeoutException"/> past <paramref name="timeout"/> (real time).</summary>
        public async Task WaitForEventsAsync(int count, TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            while (EventCount < count)
            {
                Task changed;
                lock (_gate) changed = _changed.Task;
                if (EventCount >= count) break;
                var done = await Task.WhenAny(changed, Task.Delay(Timeout.Infinite, cts.Token)).ConfigureAwait(false);
                if (done != changed) throw new TimeoutException($"The emulator received {EventCount} of {count} events within {timeout}.");
            }
        }

        /// <summary>Waits until at least <paramref name="count"/> requests have reached the handler, answered or not (real time, 20 s at most).</summary>
        public async Task WaitForRequestsStartedAsync(int count, TimeSpan? timeout = null)
        {
            using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
            while (true)
            {
                Task changed;
                lock (_gate) changed = _changed.Task;
                if (RequestsStarted >= count) return;
                var done = await Task.WhenAny(changed, Task.Delay(Timeout.Infinite, cts.Token)).ConfigureAwait(false);
                if (done != changed) throw new TimeoutException($"{RequestsStarted} of {count} requests reached the emulator in time.");
            }
        }

        /// <summary>Waits until at least <paramref name="count"/> requests arrived (real time).</summary>
        public async Task WaitForRequestsAsync(int count, TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            while (true)
            {
                Task changed;
                lock (_gate)
                {
                    if (_requests.Count >= count) return;
                    changed = _changed.Task;
                }
                var done = await Task.WhenAny(changed, Task.Delay(Timeout.Infinite, cts.Token)).ConfigureAwait(false);
                if (done != changed) throw new TimeoutException($"The emulator received {Requests.Count} of {count} requests within {timeout}.");
            }
        }

        /// <summary>Events received on the Seq ingestion routes (CLEF, one JSON object a line).</summary>
        public int SeqEventCount => Volatile.Read(ref _seqEvents);

        /// <summary>Requests received on the OTLP/HTTP routes (<c>/v1/traces</c>, <c>/v1/logs</c>).</summary>
        public int OtlpRequestCount => Volatile.Read(ref _otlpRequests);

        /// <summary>Bytes received on the OTLP/HTTP routes.</summary>
        public long OtlpBytes => Interlocked.Read(ref _otlpBytes);

        private int _seqEvents;
        private int _otlpRequests;
        private long _otlpBytes;

        // As Seq answers: 201 with the minimum level it accepts (none).
        private async Task HandleSeqAsync(HttpContext context)
        {
            var lines = 0;
            using (var reader = new StreamReader(context.Request.Body, Encoding.UTF8))
            {
                string? line;
                while ((line = await reader.ReadLineAsync().ConfigureAwait(false)) != null)
                {
                    if (line.Length == 0) continue;
                    // Parse each event as Seq would, so that benchmarks compare like with like.
                    using (JsonDocument.Parse(line)) lines++;
                }
            }
            Interlocked.Add(ref _seqEvents, lines);
            context.Response.StatusCode = 201;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{}").ConfigureAwait(false);
            Signal();
        }

        // As an OTLP/HTTP receiver answers: 200 with an empty (valid) protobuf Export*ServiceResponse.
        private async Task HandleOtlpAsync(HttpContext context)
        {
            var buffer = new byte[16 * 1024];
            long total = 0;
            int read;
            while ((read = await context.Request.Body.ReadAsync(buffer).ConfigureAwait(false)) > 0) total += read;
            Interlocked.Add(ref _otlpBytes, total);
            Interlocked.Increment(ref _otlpRequests);
            context.Response.StatusCode = 200;
            context.Response.ContentType = context.Request.ContentType == "application/json" ? "application/json" : "application/x-protobuf";
            if (context.Response.ContentType == "application/json") await context.Response.WriteAsync("{}").ConfigureAwait(false);
            Signal();
        }

        private void Signal()
        {
            lock (_gate)
            {
                var changed = _changed;
                _changed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                changed.TrySetResult(true);
            }
        }

        private async Task HandleBatchAsync(HttpContext context)
        {
            Interlocked.Increment(ref _requestsStarted);
            Signal();
            var request = context.Request;
            string body;
            using (var reader = new StreamReader(request.Body, Encoding.UTF8))
                body = await reader.ReadToEndAsync().ConfigureAwait(false);
            var headers = request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            var pathAndQuery = request.Path + request.QueryString;

            var fault = NextFault();
            if (fault != null)
            {
                switch (fault.Kind)
                {
                    case FaultKind.Abort:
                        Record(pathAndQuery, headers, body, 0, 0, null);
                        context.Abort();
                        return;
                    case FaultKind.Status:
                        if (fault.RetryAfter != null) context.Response.Headers["Retry-After"] = fault.RetryAfter;
                        await Answer(context, pathAndQuery, headers, body, fault.Status, new { error = $"injected {fault.Status}" }).ConfigureAwait(false);
                        return;
                    case FaultKind.Html:
                        Record(pathAndQuery, headers, body, 200, 0, null);
                        context.Response.StatusCode = 200;
                        context.Response.ContentType = "text/html";
                        await context.Response.WriteAsync("<!DOCTYPE html><html><body>Attention Required!</body></html>").ConfigureAwait(false);
                        return;
                    case FaultKind.Body:
                        Record(pathAndQuery, headers, body, fault.Status, 0, null);
                        context.Response.StatusCode = fault.Status;
                        if (fault.RetryAfter != null) context.Response.Headers["Retry-After"] = fault.RetryAfter;
                        if (fault.ContentType != null) context.Response.ContentType = fault.ContentType;
                        if (!string.IsNullOrEmpty(fault.Body)) await context.Response.WriteAsync(fault.Body).ConfigureAwait(false);
                        return;
                    case FaultKind.Redirect:
                        Record(pathAndQuery, headers, body, fault.Status, 0, null);
                        context.Response.StatusCode = fault.Status;
                        context.Response.Headers["Location"] = fault.Location;
                        return;
                    case FaultKind.StallBody:
                        Record(pathAndQuery, headers, body, 200, 0, null);
                        context.Response.StatusCode = 200;
                        context.Response.ContentType = "application/json";
                        context.Response.ContentLength = 1024;
                        await context.Response.WriteAsync("{\"results\":").ConfigureAwait(false);
                        await context.Response.Body.FlushAsync().ConfigureAwait(false);
                        try
                        {
                            await Task.Delay(fault.Delay, _options.TimeProvider, context.RequestAborted).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException)
                        {
                            return;
                        }
                        context.Abort();
                        return;
                    case FaultKind.Delay:
                        try
                        {
                            await Task.Delay(fault.Delay, _options.TimeProvider, context.RequestAborted).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException)
                        {
                            Record(pathAndQuery, headers, body, 0, 0, null);
                            return;
                        }
                        break;
                }
            }

            if (!headers.TryGetValue("user-agent", out var ua) || string.IsNullOrWhiteSpace(ua))
            {
                await Answer(context, pathAndQuery, headers, body, 403, new { error = "Forbidden: a User-Agent is required" }).ConfigureAwait(false);
                return;
            }

            JsonDocument? doc = null;
            try { doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 256 }); }
            catch (JsonException) { }
            using (doc)
            {
                string? querySite = request.Query.TryGetValue("site_uuid", out var q) ? q.ToString() : null;
                string? bodySite = doc != null && doc.RootElement.ValueKind == JsonValueKind.Object &&
                                   doc.RootElement.TryGetProperty("site_uuid", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
                if ((querySite is null && bodySite is null) ||
                    (querySite != null && querySite != _options.SiteUuid) ||
                    (bodySite != null && bodySite != _options.SiteUuid))
                {
                    await Answer(context, pathAndQuery, headers, body, 401, new { error = "Unauthorized: missing or unknown site_uuid" }).ConfigureAwait(false);
                    return;
                }
                if (!headers.TryGetValue("authorization", out var auth) || !string.Equals(auth, _expectedAuthorization, StringComparison.Ordinal))
                {
                    await Answer(context, pathAndQuery, headers, body, 401, new { error = "Unauthorized: bad credentials" }).ConfigureAwait(false);
                    return;
                }
                if (!TryTakeRateSlot(out var retryAfter))
                {
                    context.Response.Headers["Retry-After"] = retryAfter.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    await Answer(context, pathAndQuery, headers, body, 429, new { error = "Too Many Requests" }).ConfigureAwait(false);
                    return;
                }
                if (_options.MaxRequestBytes is { } max && Encoding.UTF8.GetByteCount(body) > max)
                {
                    await Answer(context, pathAndQuery, headers, body, 413, new { error = "Payload Too Large" }).ConfigureAwait(false);
                    return;
                }
                if (doc is null)
                {
                    await Answer(context, pathAndQuery, headers, body, 400, new { error = "the body is not valid JSON" }).ConfigureAwait(false);
                    return;
                }
                if (!BentoValidation.TryValidate(doc.RootElement, out var error, out var index))
                {
                    await Answer(context, pathAndQuery, headers, body, 400, new { error, index }).ConfigureAwait(false);
                    return;
                }
                var poison = Poison;
                if (poison != null)
                {
                    var i = 0;
                    foreach (var e in doc.RootElement.GetProperty("events").EnumerateArray())
                    {
                        if (poison(e))
                        {
                            await Answer(context, pathAndQuery, headers, body, PoisonStatus, new { error = $"event {i} was refused", index = i }).ConfigureAwait(false);
                            return;
                        }
                        i++;
                    }
                }
                var events = doc.RootElement.GetProperty("events");
                var n = events.GetArrayLength();
                Record(pathAndQuery, headers, body, 200, n, events);
                if (_options.LogToConsole) Console.WriteLine(Describe(events));
                context.Response.StatusCode = 200;
                await context.Response.WriteAsJsonAsync(new { results = n, failed = 0 }).ConfigureAwait(false);
            }
        }

        private static string Describe(JsonElement events)
        {
            var byType = events.EnumerateArray().GroupBy(e => e.GetProperty("type").GetString()).Select(g => $"{g.Key} x{g.Count()}");
            return $"[emulator] batch of {events.GetArrayLength()} events accepted: {string.Join(", ", byType)}";
        }

        private async Task Answer(HttpContext context, string pathAndQuery, Dictionary<string, string> headers, string body, int status, object error)
        {
            Record(pathAndQuery, headers, body, status, 0, null);
            context.Response.StatusCode = status;
            await context.Response.WriteAsJsonAsync(error).ConfigureAwait(false);
        }

        private Fault? NextFault()
        {
            lock (_gate)
            {
                if (_script.Count > 0) return _script.Dequeue();
                if (_random != null && _randomFaults.Length > 0 && _random.NextDouble() < _randomRate)
                    return _randomFaults[_random.Next(_randomFaults.Length)];
                return null;
            }
        }

        private bool TryTakeRateSlot(out int retryAfterSeconds)
        {
            retryAfterSeconds = 0;
            if (_options.RateLimitPerMinute is not { } limit) return true;
            var now = _options.TimeProvider.GetUtcNow();
            lock (_gate)
            {
                while (_window.Count > 0 && now - _window.Peek() >= TimeSpan.FromMinutes(1)) _window.Dequeue();
                if (_window.Count >= limit)
                {
                    var wait = _window.Peek() + TimeSpan.FromMinutes(1) - now;
                    retryAfterSeconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
                    return false;
                }
                _window.Enqueue(now);
                return true;
            }
        }

        private void Record(string pathAndQuery, Dictionary<string, string> headers, string body, int status, int eventCount, JsonElement? events)
        {
            lock (_gate)
            {
                var index = _requests.Count;
                _requests.Add(new ReceivedRequest(_options.TimeProvider.GetUtcNow(), pathAndQuery, headers, _options.RecordEvents ? body : "", status, eventCount));
                if (events is { } array)
                {
                    foreach (var e in array.EnumerateArray())
                    {
                        var type = e.GetProperty("type").GetString()!;
                        _countsByType[type] = _countsByType.TryGetValue(type, out var c) ? c + 1 : 1;
                        if (_options.RecordEvents) _events.Add(new ReceivedEvent(e.Clone(), index));
                    }
                    _eventCount += eventCount;
                }
                var changed = _changed;
                _changed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                changed.TrySetResult(true);
            }
        }

        /// <summary>Stops the server.</summary>
        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync().ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }
}
