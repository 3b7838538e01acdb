using System.IO;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace Bento.Emulator
{
    /// <summary>
    /// For benchmarks only: the ingestion routes of the peers the sinks are compared with (Seq's CLEF, OTLP/HTTP), on
    /// the same loopback server, answering as those receivers do and counting what they get. No Bento contract here.
    /// </summary>
    internal sealed class PeerEndpoints
    {
        private readonly ChangeSignal _changed;
        private int _seqEvents;
        private int _otlpRequests;
        private long _otlpBytes;

        public PeerEndpoints(ChangeSignal changed) => _changed = changed;

        public int SeqEventCount => Volatile.Read(ref _seqEvents);
        public int OtlpRequestCount => Volatile.Read(ref _otlpRequests);
        public long OtlpBytes => Interlocked.Read(ref _otlpBytes);

        /// <summary>Seq's <c>/ingest/clef</c> and <c>/api/events/raw</c>: 201 with the minimum level it accepts (none).</summary>
        public async Task HandleSeqAsync(HttpContext context)
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
            _changed.Notify();
        }

        /// <summary>OTLP/HTTP's <c>/v1/traces</c> and <c>/v1/logs</c>: 200 with an empty (valid) protobuf Export*ServiceResponse.</summary>
        public async Task HandleOtlpAsync(HttpContext context)
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
            _changed.Notify();
        }
    }
}
