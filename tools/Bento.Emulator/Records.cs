using System;
using System.Collections.Generic;
using System.Text.Json;

namespace Bento.Emulator
{
    /// <summary>One request the emulator received, whatever it answered.</summary>
    public sealed class ReceivedRequest
    {
        internal ReceivedRequest(DateTimeOffset at, string pathAndQuery, IReadOnlyDictionary<string, string> headers, string body, int status, int eventCount)
        {
            At = at;
            PathAndQuery = pathAndQuery;
            Headers = headers;
            Body = body;
            Status = status;
            EventCount = eventCount;
        }

        /// <summary>When it arrived (the emulator's clock).</summary>
        public DateTimeOffset At { get; }
        /// <summary>Path and query string.</summary>
        public string PathAndQuery { get; }
        /// <summary>Every request header, names lower-cased.</summary>
        public IReadOnlyDictionary<string, string> Headers { get; }
        /// <summary>The raw body.</summary>
        public string Body { get; }
        /// <summary>The status answered (0 when the connection was aborted).</summary>
        public int Status { get; }
        /// <summary>How many events the body held (0 when it could not be read).</summary>
        public int EventCount { get; }
    }

    /// <summary>One event the emulator accepted.</summary>
    public sealed class ReceivedEvent
    {
        internal ReceivedEvent(JsonElement json, int requestIndex)
        {
            Json = json;
            RequestIndex = requestIndex;
            Type = json.GetProperty("type").GetString()!;
            Email = json.GetProperty("email").GetString()!;
        }

        /// <summary>The event's <c>type</c>.</summary>
        public string Type { get; }
        /// <summary>The event's <c>email</c>.</summary>
        public string Email { get; }
        /// <summary>The event object as received.</summary>
        public JsonElement Json { get; }
        /// <summary>The index (in <see cref="BentoEmulator.Requests"/>) of the request that carried it.</summary>
        public int RequestIndex { get; }

        /// <summary>A property of <c>details</c>, when present.</summary>
        public JsonElement? Detail(string name)
            => Json.TryGetProperty("details", out var d) && d.ValueKind == JsonValueKind.Object && d.TryGetProperty(name, out var v) ? v : null;

        /// <summary>A property of <c>fields</c>, when present.</summary>
        public JsonElement? Field(string name)
            => Json.TryGetProperty("fields", out var f) && f.ValueKind == JsonValueKind.Object && f.TryGetProperty(name, out var v) ? v : null;
    }
}
