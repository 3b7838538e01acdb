using System;
using System.Text.Json;

namespace Bento.Emulator
{
    /// <summary>One event the emulator accepted.</summary>
    public sealed class ReceivedEvent
    {
        internal ReceivedEvent(long id, JsonElement json, int requestIndex, ReceivedRequest request)
        {
            Id = id;
            Json = json;
            RequestIndex = requestIndex;
            Request = request;
            Type = json.GetProperty("type").GetString()!;
            Email = json.GetProperty("email").GetString()!;
        }

        /// <summary>Its number: 1 for the first event accepted, increasing, never reused (the inspection API's cursor).</summary>
        public long Id { get; }
        /// <summary>The event's <c>type</c>.</summary>
        public string Type { get; }
        /// <summary>The event's <c>email</c>.</summary>
        public string Email { get; }
        /// <summary>The event object as received.</summary>
        public JsonElement Json { get; }
        /// <summary>The index (in <see cref="BentoEmulator.Requests"/>, since the last reset) of the request that carried it.</summary>
        public int RequestIndex { get; }
        /// <summary>The request that carried it.</summary>
        public ReceivedRequest Request { get; }
        /// <summary>When its request arrived (the emulator's clock).</summary>
        public DateTimeOffset ReceivedAt => Request.At;

        /// <summary>A property of <c>details</c>, when present.</summary>
        public JsonElement? Detail(string name)
            => Json.TryGetProperty("details", out var d) && d.ValueKind == JsonValueKind.Object && d.TryGetProperty(name, out var v) ? v : null;

        /// <summary>A property of <c>fields</c>, when present.</summary>
        public JsonElement? Field(string name)
            => Json.TryGetProperty("fields", out var f) && f.ValueKind == JsonValueKind.Object && f.TryGetProperty(name, out var v) ? v : null;
    }
}
