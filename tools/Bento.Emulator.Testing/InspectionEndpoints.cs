using System;
using System.Globalization;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Bento.Emulator
{
    /// <summary>
    /// The inspection API under <c>/_emulator/</c>, for people and for tests in another process: received events and
    /// refused requests as JSON pages (newest first, by cursor, with filters), totals and counts, a reset, and a stream
    /// of server-sent events that says when something changed. Credentials and the Authorization header are never shown.
    /// </summary>
    internal sealed class InspectionEndpoints
    {
        /// <summary>A page's size when the query names none, and the most a query may ask for.</summary>
        public const int DefaultLimit = 100, MaxLimit = 1000;
        private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);
        private static readonly TimeSpan StreamThrottle = TimeSpan.FromMilliseconds(250);
        private readonly RequestLog _log;
        private readonly BentoEmulatorOptions _options;
        private int _openStreams;
        private volatile bool _refuseStreams;

        public InspectionEndpoints(RequestLog log, BentoEmulatorOptions options)
        {
            _log = log;
            _options = options;
        }

        /// <summary>
        /// How many <c>/_emulator/stream</c> responses are open right now: counted when the handler starts answering one,
        /// uncounted when it ends (the client left or the emulator stops). The summary says it as <c>open_streams</c>.
        /// </summary>
        public int OpenStreams => Volatile.Read(ref _openStreams);

        /// <summary>
        /// For the tests of the page's fallback: while set, <c>/_emulator/stream</c> answers 503 (so the page polls), as
        /// it would behind a proxy that breaks long responses. Streams already open go on.
        /// </summary>
        public bool RefuseStreams { get => _refuseStreams; set => _refuseStreams = value; }

        /// <summary><c>GET /_emulator/events?email=&amp;type=&amp;before=&amp;limit=</c>: accepted events, newest first.</summary>
        public async Task GetEventsAsync(HttpContext context)
        {
            var query = context.Request.Query;
            if (ReadPaging(context, out var before, out var limit) is { } error)
            {
                await BadRequestAsync(context, error).ConfigureAwait(false);
                return;
            }
            var page = _log.QueryEvents(query["email"].ToString(), query["type"].ToString(), before, limit);
            // The page asks for rows without bodies (bodies=false) and fetches one body when a row is opened.
            var bodies = !string.Equals(query["bodies"].ToString(), "false", StringComparison.OrdinalIgnoreCase);
            await WriteJsonAsync(context, w =>
            {
                w.WriteStartObject();
                w.WriteNumber("matched", page.Matched);
                WriteCursor(w, page.Next);
                w.WriteStartArray("events");
                foreach (var e in page.Items)
                {
                    w.WriteStartObject();
                    w.WriteNumber("id", e.Id);
                    w.WriteNumber("request_id", e.Request.Id);
                    w.WriteString("received_at", e.ReceivedAt);
                    w.WriteString("user_agent", e.Request.UserAgent);
                    w.WriteString("type", e.Type);
                    w.WriteString("email", e.Email);
                    if (bodies)
                    {
                        w.WritePropertyName("event");
                        e.Json.WriteTo(w);
                    }
                    else WriteNames(w, e.Json);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }).ConfigureAwait(false);
        }

        /// <summary><c>GET /_emulator/events/{id}</c>: one event's body, or 404 once it was let go.</summary>
        public async Task GetEventAsync(HttpContext context, long id)
        {
            var found = _log.FindEvent(id);
            if (found is null)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                await WriteJsonAsync(context, w => { w.WriteStartObject(); w.WriteString("error", "no such event (let go, reset, or never received)"); w.WriteEndObject(); }).ConfigureAwait(false);
                return;
            }
            await WriteJsonAsync(context, w =>
            {
                w.WriteStartObject();
                w.WriteNumber("id", found.Id);
                w.WritePropertyName("event");
                found.Json.WriteTo(w);
                w.WriteEndObject();
            }).ConfigureAwait(false);
        }

        /// <summary>What a row shows without the body: the first and last names, the event's date, how many details.</summary>
        private static void WriteNames(Utf8JsonWriter w, JsonElement e)
        {
            if (e.TryGetProperty("fields", out var f) && f.ValueKind == JsonValueKind.Object)
            {
                if (f.TryGetProperty("first_name", out var first) && first.ValueKind == JsonValueKind.String) w.WriteString("first_name", first.GetString());
                if (f.TryGetProperty("last_name", out var last) && last.ValueKind == JsonValueKind.String) w.WriteString("last_name", last.GetString());
            }
            if (e.TryGetProperty("date", out var date) && date.ValueKind == JsonValueKind.String) w.WriteString("date", date.GetString());
            if (e.TryGetProperty("details", out var d) && d.ValueKind == JsonValueKind.Object)
            {
                var n = 0;
                foreach (var _ in d.EnumerateObject()) n++;
                w.WriteNumber("details_count", n);
            }
        }

        /// <summary><c>GET /_emulator/requests?refused=true&amp;before=&amp;limit=</c>: requests, newest first, with the reason of each refusal.</summary>
        public async Task GetRequestsAsync(HttpContext context)
        {
            if (ReadPaging(context, out var before, out var limit) is { } error)
            {
                await BadRequestAsync(context, error).ConfigureAwait(false);
                return;
            }
            var refusedOnly = string.Equals(context.Request.Query["refused"].ToString(), "true", StringComparison.OrdinalIgnoreCase);
            var page = _log.QueryRequests(refusedOnly, before, limit);
            await WriteJsonAsync(context, w =>
            {
                w.WriteStartObject();
                w.WriteNumber("matched", page.Matched);
                WriteCursor(w, page.Next);
                w.WriteStartArray("requests");
                foreach (var r in page.Items)
                {
                    w.WriteStartObject();
                    w.WriteNumber("id", r.Id);
                    w.WriteString("received_at", r.At);
                    w.WriteNumber("status", r.Status);
                    w.WriteBoolean("accepted", r.Accepted);
                    w.WriteString("reason", r.Reason);
                    if (r.FirstBadEventIndex is { } index) w.WriteNumber("first_bad_event_index", index);
                    else w.WriteNull("first_bad_event_index");
                    w.WriteNumber("event_count", r.EventCount);
                    w.WriteString("user_agent", r.UserAgent);
                    w.WriteString("path", r.PathAndQuery);
                    w.WriteNumber("body_length", r.BodyLength);
                    w.WriteBoolean("body_truncated", r.BodyTruncated);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }).ConfigureAwait(false);
        }

        /// <summary>
        /// <c>GET /_emulator/summary?top_types=50&amp;top_users=20</c>: totals, the types and the users with the most events,
        /// what was let go to stay within the limits, and where to send.
        /// </summary>
        public async Task GetSummaryAsync(HttpContext context)
        {
            int top = 20, topTypes = 50;
            if ((context.Request.Query.TryGetValue("top_users", out var t) &&
                 (!int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out top) || top > MaxLimit)) ||
                (context.Request.Query.TryGetValue("top_types", out var tt) &&
                 (!int.TryParse(tt, NumberStyles.None, CultureInfo.InvariantCulture, out topTypes) || topTypes > MaxLimit)))
            {
                await BadRequestAsync(context, $"top_users and top_types must be 0 to {MaxLimit}").ConfigureAwait(false);
                return;
            }
            var summary = _log.Summarize(topTypes, top);
            var request = context.Request;
            await WriteJsonAsync(context, w =>
            {
                w.WriteStartObject();
                w.WriteString("endpoint", $"{request.Scheme}://{request.Host}{request.PathBase}/api/v1");
                w.WriteString("site_uuid", _options.SiteUuid);
                w.WriteNumber("events", summary.Events);
                w.WriteNumber("requests", summary.Requests);
                w.WriteNumber("refused", summary.Refused);
                w.WriteNumber("evicted", summary.Evicted);
                w.WriteNumber("max_recorded_events", _options.MaxRecordedEvents);
                w.WriteBoolean("recording_events", _options.RecordEvents);
                w.WriteNumber("evicted_requests", summary.EvictedRequests);
                w.WriteNumber("types_let_go", summary.TypesLetGo);
                w.WriteNumber("users_let_go", summary.UsersLetGo);
                w.WriteNumber("retained_bytes", summary.RetainedBytes);
                w.WriteNumber("max_retained_bytes", _options.MaxRetainedBytes);
                w.WriteNumber("types", summary.Types);
                w.WriteNumber("users", summary.Users);
                w.WriteNumber("version", summary.Version);
                w.WriteNumber("open_streams", OpenStreams);
                w.WriteStartArray("by_type");
                foreach (var p in summary.ByType)
                {
                    w.WriteStartObject();
                    w.WriteString("type", p.Key);
                    w.WriteNumber("count", p.Value);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("top_users");
                foreach (var p in summary.TopUsers)
                {
                    w.WriteStartObject();
                    w.WriteString("email", p.Key);
                    w.WriteNumber("count", p.Value);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }).ConfigureAwait(false);
        }

        /// <summary><c>POST /_emulator/reset</c>: forgets every request and event; answers 204.</summary>
        public Task ResetAsync(HttpContext context)
        {
            _log.Reset();
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        }

        /// <summary>
        /// <c>GET /_emulator/stream</c>: server-sent events, one <c>data: {version}</c> message when the log changes (at
        /// most four a second), a comment every 15 s otherwise; ends when the client leaves or the emulator stops. Each
        /// open response is counted in <see cref="OpenStreams"/>.
        /// </summary>
        public async Task StreamAsync(HttpContext context)
        {
            if (_refuseStreams)
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.ContentType = "text/plain; charset=utf-8";
                await context.Response.WriteAsync("The live stream is turned off: poll /_emulator/summary.", context.RequestAborted).ConfigureAwait(false);
                return;
            }
            Interlocked.Increment(ref _openStreams);
            try
            {
                await StreamChangesAsync(context).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _openStreams);
            }
        }

        private async Task StreamChangesAsync(HttpContext context)
        {
            var stopping = context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            using var done = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
            var token = done.Token;
            var response = context.Response;
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache";
            long sent = -1;
            try
            {
                while (!token.IsCancellationRequested)
                {
                    var changed = await _log.Changed.WaitUntilAsync(() => _log.Version != sent, KeepAlive, cancellationToken: token).ConfigureAwait(false);
                    if (token.IsCancellationRequested) break;
                    if (changed)
                    {
                        sent = _log.Version;
                        await response.WriteAsync("data: " + sent.ToString(CultureInfo.InvariantCulture) + "\n\n", token).ConfigureAwait(false);
                    }
                    else
                    {
                        await response.WriteAsync(": keep-alive\n\n", token).ConfigureAwait(false);
                    }
                    await response.Body.FlushAsync(token).ConfigureAwait(false);
                    await Task.Delay(StreamThrottle, token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // The page went away or the emulator is stopping: the stream simply ends.
            }
        }

        /// <summary>Reads <c>before</c> and <c>limit</c>; returns what is wrong with them, or null.</summary>
        private static string? ReadPaging(HttpContext context, out long? before, out int limit)
        {
            var query = context.Request.Query;
            before = null;
            limit = DefaultLimit;
            string? error = null;
            if (query.TryGetValue("before", out var b))
            {
                if (long.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out var cursor)) before = cursor;
                else error = "before must be an id (the 'next' of the previous page)";
            }
            if (query.TryGetValue("limit", out var l) &&
                (!int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxLimit))
                error = $"limit must be 1 to {MaxLimit}";
            return error;
        }

        private static Task BadRequestAsync(HttpContext context, string error)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return WriteJsonAsync(context, w =>
            {
                w.WriteStartObject();
                w.WriteString("error", error);
                w.WriteEndObject();
            });
        }

        private static void WriteCursor(Utf8JsonWriter w, long? next)
        {
            if (next is { } cursor) w.WriteNumber("next", cursor);
            else w.WriteNull("next");
        }

        private static async Task WriteJsonAsync(HttpContext context, Action<Utf8JsonWriter> write)
        {
            context.Response.ContentType = "application/json; charset=utf-8";
            context.Response.Headers.CacheControl = "no-store";
            // The writer buffers the page (at most MaxLimit items) and writes it out asynchronously at the flush.
            await using (var writer = new Utf8JsonWriter(context.Response.Body))
            {
                write(writer);
                await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            }
        }
    }
}
