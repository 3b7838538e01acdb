using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace Bento.Emulator
{
    /// <summary>One request to the batch events route, read in full: what the request log keeps of it, and how it is answered.</summary>
    internal sealed class IncomingRequest
    {
        private readonly RequestLog _log;

        private IncomingRequest(HttpContext context, RequestLog log, string body)
        {
            Context = context;
            _log = log;
            Body = body;
            Headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            PathAndQuery = context.Request.Path + context.Request.QueryString;
        }

        public HttpContext Context { get; }
        public HttpResponse Response => Context.Response;
        public string PathAndQuery { get; }
        /// <summary>Every header, names lower-cased.</summary>
        public Dictionary<string, string> Headers { get; }
        public string Body { get; }

        public static async Task<IncomingRequest> ReadAsync(HttpContext context, RequestLog log)
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync().ConfigureAwait(false);
            return new IncomingRequest(context, log, body);
        }

        /// <summary>Records the accepted request with the status answered and its events.</summary>
        public void RecordAccepted(int status, JsonElement accepted) => _log.Record(this, status, null, accepted);

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
