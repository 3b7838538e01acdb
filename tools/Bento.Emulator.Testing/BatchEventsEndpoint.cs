using System;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace Bento.Emulator
{
    /// <summary>
    /// <c>POST /api/v1/batch/events</c> as Bento answers it: an injected fault first, if any; then a User-Agent, the
    /// site UUID (query or body), the Basic credentials, the rate limit, the size limit, the body rules of
    /// <see cref="BentoValidation"/> and the poisoned events are checked in that order, and the first failure is
    /// answered; a batch that passes them all is recorded and answered 200 with <c>{"results":n,"failed":0}</c>.
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

        public async Task HandleAsync(HttpContext context)
        {
            _log.Started();
            var request = await IncomingRequest.ReadAsync(context, _log).ConfigureAwait(false);
            if (await _faults.TryAnswerAsync(request).ConfigureAwait(false)) return;

            JsonDocument? doc = null;
            try { doc = JsonDocument.Parse(request.Body, ParseOptions); }
            catch (JsonException) { }
            using (doc)
            {
                if (Refuse(request, doc) is { } refusal)
                {
                    if (refusal.RetryAfter is { } seconds) request.Response.Headers["Retry-After"] = seconds.ToString(CultureInfo.InvariantCulture);
                    await request.AnswerAsync(refusal.Status, refusal.Error, refusal.Reason, refusal.Index).ConfigureAwait(false);
                    if (_options.LogToConsole) Console.WriteLine($"[emulator] refused a request: HTTP {refusal.Status}, {refusal.Reason}");
                    return;
                }
                var events = doc!.RootElement.GetProperty("events");
                request.RecordAccepted(200, events);
                if (_options.LogToConsole) Console.WriteLine(Describe(events));
                request.Response.StatusCode = 200;
                await request.Response.WriteAsJsonAsync(new { results = events.GetArrayLength(), failed = 0 }).ConfigureAwait(false);
            }
        }

        /// <summary>Bento's checks, in Bento's order: the first that fails, or null when the batch is accepted.</summary>
        private Refusal? Refuse(IncomingRequest request, JsonDocument? doc)
        {
            if (!request.Headers.TryGetValue("user-agent", out var ua) || string.IsNullOrWhiteSpace(ua))
                return new Refusal(403, new { error = "Forbidden: a User-Agent is required" }, "missing User-Agent (Bento's edge blocks it)");

            string? querySite = request.Context.Request.Query.TryGetValue("site_uuid", out var q) ? q.ToString() : null;
            string? bodySite = doc != null && doc.RootElement.ValueKind == JsonValueKind.Object &&
                               doc.RootElement.TryGetProperty("site_uuid", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            var siteError = new { error = "Unauthorized: missing or unknown site_uuid" };
            if (querySite is null && bodySite is null)
                return new Refusal(401, siteError, "missing site_uuid (neither in the query nor in the body)");
            if ((querySite != null && querySite != _options.SiteUuid) || (bodySite != null && bodySite != _options.SiteUuid))
                return new Refusal(401, siteError, "unknown site_uuid (not the emulator's site)");

            if (!request.Headers.TryGetValue("authorization", out var auth) || string.IsNullOrEmpty(auth))
                return new Refusal(401, new { error = "Unauthorized: bad credentials" }, "missing credentials (no Authorization header)");
            if (!string.Equals(auth, _expectedAuthorization, StringComparison.Ordinal))
                return new Refusal(401, new { error = "Unauthorized: bad credentials" }, "wrong credentials (the publishable and secret keys are not the emulator's)");

            if (!_rateLimit.TryTake(out var retryAfter))
                return new Refusal(429, new { error = "Too Many Requests" },
                    $"rate limited: over {_options.RateLimitPerMinute} requests a minute (Retry-After {retryAfter} s)", RetryAfter: retryAfter);

            if (_options.MaxRequestBytes is { } max && Encoding.UTF8.GetByteCount(request.Body) is var bytes && bytes > max)
                return new Refusal(413, new { error = "Payload Too Large" }, $"payload too large: {bytes} bytes, over the limit of {max}");

            if (doc is null)
                return new Refusal(400, new { error = "the body is not valid JSON" }, "the body is not valid JSON");

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
            return $"[emulator] batch of {events.GetArrayLength()} events accepted: {string.Join(", ", byType)}";
        }

        /// <summary>
        /// A failed check: the status, the JSON error body (as Bento words it), the reason in words for the request log
        /// (never a credential or an event's content), the first bad event's index, and the <c>Retry-After</c> seconds of a 429.
        /// </summary>
        private sealed record Refusal(int Status, object Error, string Reason, int? Index = null, int? RetryAfter = null);
    }
}
