using System;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.Net.Http.Headers;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace Bento.Emulator
{
    /// <summary>
    /// <c>POST /api/v1/batch/events</c> as Bento answers it: an injected fault first, if any; then, before the body is
    /// read, the exact path, a User-Agent, the site UUID in the query, the Basic credentials, the Content-Type, the rate
    /// limit and the declared size; then, reading at most the size limit, UTF-8, JSON, the body's site UUID, the body
    /// rules of <see cref="BentoValidation"/> and the poisoned events. The first failure is answered; a batch that passes
    /// them all is recorded and answered 200 with <c>{"results":n,"failed":0}</c>.
    /// </summary>
    internal sealed class BatchEventsEndpoint
    {
        private static readonly JsonDocumentOptions ParseOptions = new JsonDocumentOptions { MaxDepth = 256 };
        private readonly BentoEmulatorOptions _options;
        private readonly RequestLog _log;
        private readonly FaultInjector _faults;
        private readonly RateLimitWindow _rateLimit;
        private readonly string _expectedAuthorization;

        public BatchEventsEndpoint(BentoEmulatorOptions options, RequestLog log, FaultInjector faults)
        {
            _options = options;
            _log = log;
            _faults = faults;
            _rateLimit = new RateLimitWindow(options);
            _expectedAuthorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(options.PublishableKey + ":" + options.SecretKey));
        }

        /// <summary>An event for which it returns true is refused with <see cref="PoisonStatus"/>, naming its index.</summary>
        public Func<JsonElement, bool>? Poison { get; set; }

        public int PoisonStatus { get; set; } = 400;

        public const string BatchPath = "/api/v1/batch/events", TagsPath = "/api/v1/fetch/tags";

        public async Task HandleAsync(HttpContext context)
        {
            _log.Started();
            try { await AnswerAsync(context).ConfigureAwait(false); }
            catch (Exception e) when (!context.Response.HasStarted && e is not OperationCanceledException)
            {
                // Never a 200 for a request the emulator failed on (FinishAsync completes the response): a 500, recorded.
                var request = new IncomingRequest(context, _log);
                await RefuseAsync(request, new Refusal(500, new { error = "Internal Server Error" },
                    $"the emulator failed on this request ({e.GetType().Name}; its message is not shown: it may quote the body)")).ConfigureAwait(false);
            }
            finally { await FinishAsync(context).ConfigureAwait(false); }
        }

        /// <summary>
        /// Ends the answer (written out whole, unless the connection is gone) before the request counts as finished: a
        /// fake clock moved between the record and the last byte would turn an accepted batch into a client timeout.
        /// </summary>
        private async Task FinishAsync(HttpContext context)
        {
            try
            {
                if (!context.RequestAborted.IsCancellationRequested) await context.Response.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is System.IO.IOException || e is OperationCanceledException || e is InvalidOperationException) { }
            finally { _log.Finished(); }
        }

        private async Task AnswerAsync(HttpContext context)
        {
            var request = new IncomingRequest(context, _log);
            string? failure = null;
            var bodyRead = false;
            if (_faults.Take() is { } fault)
            {
                // A fault plays on a request read whole (bounded), as a real server would have it: a client that gives up
                // during a delay is then seen going away, and its request is not answered after all.
                failure = await request.ReadBodyAsync(_options.EffectiveMaxRequestBytes).ConfigureAwait(false);
                bodyRead = true;
                if (failure != null && failure != "too large")
                {
                    request.RecordRefused(0, failure);
                    return;
                }
                if (await _faults.PlayAsync(fault, request).ConfigureAwait(false)) return;
            }
            // Everything that needs no body first: a refused request's body is never read (nor kept).
            if (RefuseBeforeBody(request, BatchPath, checkContentType: true) is { } early)
            {
                await RefuseAsync(request, early).ConfigureAwait(false);
                return;
            }
            if (!bodyRead) failure = await request.ReadBodyAsync(_options.EffectiveMaxRequestBytes).ConfigureAwait(false);
            if (failure != null)
            {
                if (failure == "too large") await RefuseAsync(request, TooLarge(request.BodyLength)).ConfigureAwait(false);
                else if (request.MalformedStatus != 0)
                    await RefuseAsync(request, new Refusal(request.MalformedStatus, new { error = "Bad Request" }, failure)).ConfigureAwait(false);
                else
                {
                    // The client went away mid-body: recorded (status 0), so waits that count answered requests move on.
                    request.RecordRefused(0, failure);
                    Log($"[emulator] a request failed: {failure}");
                }
                return;
            }
            // One body at a time is parsed and judged, on one thread (see ParseThread): a JsonDocument of a 10 MB body of
            // small tokens takes many times the body, so concurrent ones would add up to gigabytes. The body was read before.
            var (refusal, results) = await ParseThread.RunAsync(() => (Judge(request, out var n), n)).ConfigureAwait(false);
            if (refusal != null)
            {
                await RefuseAsync(request, refusal).ConfigureAwait(false);
                return;
            }
            request.Response.StatusCode = 200;
            await request.Response.WriteAsJsonAsync(new { results, failed = 0 }).ConfigureAwait(false);
        }

        /// <summary>The body's checks, in order: the first refusal, or null once the batch was recorded as accepted.</summary>
        private Refusal? Judge(IncomingRequest request, out int results)
        {
            results = 0;
            if (!Utf8.IsValid(request.Body)) return new Refusal(400, new { error = "the body is not valid UTF-8" }, "the body is not valid UTF-8");
            JsonDocument? doc = null;
            try { doc = JsonDocument.Parse(request.Body, ParseOptions); }
            catch (JsonException) { }
            using (doc)
            {
                if (doc != null && HasLoneSurrogate(request.Body))
                    return new Refusal(400, new { error = "the body is not valid UTF-8: a \\u escape names a lone surrogate" },
                        "the body is not valid UTF-8 (a \\u escape names a lone surrogate)");
                if (RefuseBody(doc) is { } refusal) return refusal;
                var events = doc!.RootElement.GetProperty("events");
                request.RecordAccepted(200, events);
                if (_options.LogToConsole) Console.WriteLine(Describe(events));
                results = events.GetArrayLength();
                return null;
            }
        }

        /// <summary>
        /// Whether a string or a property name escapes half a surrogate pair (<c>"\\ud800"</c>): valid JSON, but no text
        /// (.NET cannot read it as a string; Bento would store invalid UTF-8). Only escaped strings can; each is read once.
        /// </summary>
        private static bool HasLoneSurrogate(byte[] body)
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 256 });
            while (reader.Read())
            {
                if ((reader.TokenType == JsonTokenType.String || reader.TokenType == JsonTokenType.PropertyName) && reader.ValueIsEscaped)
                {
                    try { reader.GetString(); }
                    catch (InvalidOperationException) { return true; }
                }
            }
            return false;
        }

        /// <summary>
        /// <c>GET /api/v1/fetch/tags</c>: Bento's example of an authenticated read, for a client's credential check. The
        /// same rules as the batch route (path, User-Agent, site_uuid in the query, keys, rate limit); 200 with the
        /// site's tags (the emulator has none) when they pass.
        /// </summary>
        public async Task HandleFetchTagsAsync(HttpContext context)
        {
            _log.Started();
            try { await AnswerFetchTagsAsync(context).ConfigureAwait(false); }
            finally { await FinishAsync(context).ConfigureAwait(false); }
        }

        private async Task AnswerFetchTagsAsync(HttpContext context)
        {
            var request = new IncomingRequest(context, _log);
            if (RefuseBeforeBody(request, TagsPath, checkContentType: false) is { } refusal)
            {
                await RefuseAsync(request, refusal).ConfigureAwait(false);
                return;
            }
            request.RecordAnswered(200);
            request.Response.StatusCode = 200;
            await request.Response.WriteAsJsonAsync(new { data = Array.Empty<object>() }).ConfigureAwait(false);
        }

        private async Task RefuseAsync(IncomingRequest request, Refusal refusal)
        {
            if (refusal.RetryAfter is { } seconds) request.Response.Headers["Retry-After"] = seconds.ToString(CultureInfo.InvariantCulture);
            await request.AnswerAsync(refusal.Status, refusal.Error, refusal.Reason, refusal.Index).ConfigureAwait(false);
            Log($"[emulator] refused a request: HTTP {refusal.Status}, {refusal.Reason}");
        }

        private void Log(string line)
        {
            if (_options.LogToConsole) Console.WriteLine(ConsoleText.Sanitize(line));
        }

        private Refusal TooLarge(long bytes) => new Refusal(413, new { error = "Payload Too Large" },
            $"payload too large: {bytes:N0} bytes or more, over the limit of {_options.EffectiveMaxRequestBytes:N0}");

        /// <summary>Bento's checks that need no body, in order: the first that fails, or null.</summary>
        private Refusal? RefuseBeforeBody(IncomingRequest request, string path, bool checkContentType)
        {
            var http = request.Context.Request;
            // Bento's routes are lower case with no trailing slash; ASP.NET's routing would forgive both.
            if (!string.Equals(http.Path.Value, path, StringComparison.Ordinal))
                return new Refusal(404, new { error = "Not Found" }, $"no such route: Bento's path is exactly {path} (lower case, no trailing slash)");

            if (!request.Headers.TryGetValue("user-agent", out var ua) || string.IsNullOrWhiteSpace(ua))
                return new Refusal(403, new { error = "Forbidden: a User-Agent is required" }, "missing User-Agent (Bento's edge blocks it)");

            var siteError = new { error = "Unauthorized: missing or unknown site_uuid" };
            var q = SiteUuidInQuery(http.QueryString.Value);
            if (string.IsNullOrEmpty(q))
                return new Refusal(401, siteError, "missing site_uuid (Bento requires it in the query string)");
            if (q != _options.SiteUuid)
                return new Refusal(401, siteError, "unknown site_uuid (not the emulator's site)");

            if (!request.Headers.TryGetValue("authorization", out var auth) || string.IsNullOrEmpty(auth))
                return new Refusal(401, new { error = "Unauthorized: bad credentials" }, "missing credentials (no Authorization header)");
            if (!string.Equals(auth, _expectedAuthorization, StringComparison.Ordinal))
                return new Refusal(401, new { error = "Unauthorized: bad credentials" }, "wrong credentials (the publishable and secret keys are not the emulator's)");

            if (checkContentType && !IsJson(http.ContentType))
                return new Refusal(415, new { error = "Content-Type must be application/json" },
                    http.ContentType is null ? "missing Content-Type (Bento reads application/json)" : "wrong Content-Type (Bento reads application/json, UTF-8)");

            if (!_rateLimit.TryTake(out var retryAfter))
                return new Refusal(429, new { error = "Too Many Requests" },
                    $"rate limited: over {_options.RateLimitPerMinute} requests a minute (Retry-After {retryAfter} s)", RetryAfter: retryAfter);

            if (http.ContentLength is { } length && length > _options.EffectiveMaxRequestBytes) return TooLarge(length);
            return null;
        }

        /// <summary>
        /// The <c>site_uuid</c> values of the query, joined by commas (null when none): by its exact name, as Bento's params
        /// read it, not ASP.NET's case-insensitive <c>Query</c> (<c>SITE_UUID</c> is no site_uuid to Bento).
        /// </summary>
        private static string? SiteUuidInQuery(string? query)
        {
            if (string.IsNullOrEmpty(query)) return null;
            string? found = null;
            foreach (var part in query.TrimStart('?').Split('&'))
            {
                var eq = part.IndexOf('=');
                string Decode(string s) => Uri.UnescapeDataString(s.Replace('+', ' '));
                if (eq < 0 || !string.Equals(Decode(part.Substring(0, eq)), "site_uuid", StringComparison.Ordinal)) continue;
                var value = Decode(part.Substring(eq + 1));
                found = found is null ? value : found + "," + value;
            }
            return found;
        }

        private static bool IsJson(string? contentType)
        {
            if (contentType is null || !MediaTypeHeaderValue.TryParse(contentType, out var media)) return false;
            if (!string.Equals(media.MediaType.Value, "application/json", StringComparison.OrdinalIgnoreCase)) return false;
            return media.Charset.Length == 0 || string.Equals(media.Charset.Value, "utf-8", StringComparison.OrdinalIgnoreCase);
        }

        /// <summary>Bento's body rules, in order: the first that fails, or null when the batch is accepted.</summary>
        private Refusal? RefuseBody(JsonDocument? doc)
        {
            if (doc is null)
                return new Refusal(400, new { error = "the body is not valid JSON" }, "the body is not valid JSON");

            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("site_uuid", out var s) &&
                (s.ValueKind != JsonValueKind.String || s.GetString() != _options.SiteUuid))
                return new Refusal(401, new { error = "Unauthorized: missing or unknown site_uuid" }, "unknown site_uuid in the body (not the emulator's site)");

            if (!BentoValidation.TryValidate(doc.RootElement, out var error, out var index))
                return new Refusal(400, new { error, index }, error, index >= 0 ? index : null);

            if (Poison is { } poison)
            {
                var i = 0;
                foreach (var e in doc.RootElement.GetProperty("events").EnumerateArray())
                {
                    if (poison(e)) return new Refusal(PoisonStatus, new { error = $"event {i} was refused", index = i }, $"event {i} was refused (the test's poison rule)", i);
                    i++;
                }
            }
            return null;
        }

        private static string Describe(JsonElement events)
        {
            var byType = events.EnumerateArray().GroupBy(e => e.GetProperty("type").GetString()).Select(g => $"{g.Key} x{g.Count()}");
            return ConsoleText.Sanitize($"[emulator] batch of {events.GetArrayLength()} events accepted: {string.Join(", ", byType)}");
        }

        /// <summary>
        /// A failed check: the status, the JSON error body (as Bento words it), the reason in words for the request log
        /// (never a credential or an event's content), the first bad event's index, and the <c>Retry-After</c> seconds of a 429.
        /// </summary>
        private sealed record Refusal(int Status, object Error, string Reason, int? Index = null, int? RetryAfter = null);
    }
}
