using System;
using System.Text.Json;

namespace Bento.Emulator
{
    /// <summary>One event the emulator accepted.</summary>
    public sealed class ReceivedEvent
    {
        private readonly RequestLog _log;
        private readonly int _start, _length;

        internal ReceivedEvent(long id, string type, string email, ReceivedRequest request, int start, int length, RequestLog log)
        {
            Id = id;
            Type = type;
            Email = email;
            Request = request;
            _start = start;
            _length = length;
            _log = log;
        }

        /// <summary>What it takes in memory beside its request's body (the object, its list slot, its email and type when not shared).</summary>
        internal long Bytes => 112 + 2L * (Email.Length + Type.Length) + 48;

        /// <summary>Its number: 1 for the first event accepted, increasing, never reused (the inspection API's cursor).</summary>
        public long Id { get; }
        /// <summary>The event's <c>type</c>.</summary>
        public string Type { get; }
        /// <summary>The event's <c>email</c>.</summary>
        public string Email { get; }
        /// <summary>The event object as received (read from its request's body, which is kept once, not per event).</summary>
        public JsonElement Json => JsonDocument.Parse(Request.BodyBytes.AsMemory(_start, _length)).RootElement;
        /// <summary>
        /// The index in <see cref="BentoEmulator.Requests"/> of the request that carried it, now (older requests let go
        /// move it down); -1 once that request was let go or forgotten by a reset.
        /// </summary>
        public int RequestIndex => _log.IndexOf(Request);
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
