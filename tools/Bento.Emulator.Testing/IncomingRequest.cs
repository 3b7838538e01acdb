using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace Bento.Emulator
{
    /// <summary>
    /// One request to a Bento route: its headers at once, its body only when the checks that need no body passed (and
    /// then never past the size limit). What the request log keeps of it, and how it is answered.
    /// </summary>
    internal sealed class IncomingRequest
    {
        /// <summary>How much of a refused request's body is kept: its beginning, enough to see what it was.</summary>
        public const int RefusedBodyKept = 4096;
        private readonly RequestLog _log;

        public IncomingRequest(HttpContext context, RequestLog log)
        {
            Context = context;
            _log = log;
            // The Authorization header is kept for the checks, never shown (the inspection API leaves headers out).
            Headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            PathAndQuery = context.Request.Path + context.Request.QueryString;
        }

        public HttpContext Context { get; }
        public HttpResponse Response => Context.Response;
        public string PathAndQuery { get; }
        /// <summary>Every header, names lower-cased.</summary>
        public Dictionary<string, string> Headers { get; }
        /// <summary>The body as read (empty until <see cref="ReadBodyAsync"/>, or when it was never read).</summary>
        public byte[] Body { get; private set; } = Array.Empty<byte>();
        /// <summary>How many bytes of the body were received.</summary>
        public long BodyLength { get; private set; }

        /// <summary>
        /// Reads the body, up to <paramref name="max"/> bytes. Returns null when it was read whole; otherwise why not:
        /// "too large" (past <paramref name="max"/>) or the failure's words when the client went away mid-body.
        /// </summary>
        public async Task<string?> ReadBodyAsync(long max)
        {
            // With a Content-Length (already checked against the limit) the body goes straight into an array of its size:
            // a growing buffer would take up to three times the body while it is read, per request.
            var declared = Context.Request.ContentLength;
            using var buffer = declared is { } length && length <= max ? new MemoryStream((int)length) : new MemoryStream();
            var chunk = new byte[16 * 1024];
            try
            {
                int read;
                while ((read = await Context.Request.Body.ReadAsync(chunk.AsMemory(), Context.RequestAborted).ConfigureAwait(false)) > 0)
                {
                    BodyLength += read;
                    if (BodyLength > max)
                    {
                        Body = buffer.ToArray();
                        return "too large";
                    }
                    buffer.Write(chunk, 0, read);
                }
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                // Kestrel's own limit (a chunked body past it): the same answer as ours, 413, never a 200.
                Body = buffer.ToArray();
                return "too large";
            }
            catch (BadHttpRequestException e) when (Context.RequestAborted.IsCancellationRequested
                || e.Message.StartsWith("Unexpected end of request content", StringComparison.Ordinal))
            {
                // The client went away before the body's end: nobody is left to answer (recorded with status 0).
                Body = buffer.ToArray();
                return $"the request failed mid-body after {BodyLength} bytes (the connection closed)";
            }
            catch (BadHttpRequestException e)
            {
                // A malformed body (bad chunked framing, a short Content-Length): the client gets Kestrel's 400, not a 200.
                Body = buffer.ToArray();
                MalformedStatus = e.StatusCode;
                return $"a malformed request body after {BodyLength} bytes ({e.Message})";
            }
            catch (Exception e) when (e is IOException || e is OperationCanceledException)
            {
                Body = buffer.ToArray();
                return $"the request failed mid-body after {BodyLength} bytes ({e.GetType().Name})";
            }
            // Read whole into an array of its declared size: kept as it is, not copied.
            Body = buffer.Length == buffer.Capacity ? buffer.GetBuffer() : buffer.ToArray();
            return null;
        }

        /// <summary>The status Kestrel gives a malformed body (400), once <see cref="ReadBodyAsync"/> met one; 0 otherwise.</summary>
        public int MalformedStatus { get; private set; }

        /// <summary>Records the accepted request with the status answered and its events.</summary>
        public void RecordAccepted(int status, JsonElement accepted) => _log.Record(this, status, null, accepted);

        /// <summary>
        /// Runs <paramref name="wait"/> (a wait on the emulator's clock, after the request was recorded) without counting
        /// the request as in flight: a fake clock must be free to move it along.
        /// </summary>
        public async Task<T> OffTheClockAsync<T>(Func<Task<T>> wait)
        {
            _log.Finished();
            try { return await wait().ConfigureAwait(false); }
            finally { _log.Resumed(); }
        }

        /// <summary>Records a request answered without events and without a refusal (a credential check).</summary>
        public void RecordAnswered(int status) => _log.Record(this, status, null);

        /// <summary>Records the refused request with the status answered (0: aborted) and why, in words.</summary>
        public void RecordRefused(int status, string reason, int? firstBadEventIndex = null) => _log.Record(this, status, reason, null, firstBadEventIndex);

        /// <summary>Records the refused request, then answers <paramref name="status"/> with <paramref name="json"/> as the body.</summary>
        public async Task AnswerAsync(int status, object json, string reason, int? firstBadEventIndex = null)
        {
            RecordRefused(status, reason, firstBadEventIndex);
            Response.StatusCode = status;
            await Response.WriteAsJsonAsync(json).ConfigureAwait(false);
        }
    }
}
