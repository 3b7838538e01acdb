using System;
using System.Collections.Generic;
using System.Text.Json;
using BentoSinks.Delivery;
using BentoSinks.Json;

namespace BentoSinks.Core.Tests
{
    /// <summary>A minimal event for driving the core pipeline directly.</summary>
    public sealed class TestEvent
    {
        public string Type { get; set; } = "test_event";
        public string Email { get; set; } = "ada@example.com";
        public DateTimeOffset? Date { get; set; }
        public Dictionary<string, object?>? Fields { get; set; }
        public Dictionary<string, object?>? Details { get; set; }
        public bool Invalid { get; set; }
        public bool Throw { get; set; }
    }

    internal sealed class TestFormatter : IBentoEventFormatter<TestEvent>
    {
        public bool TryWriteEvent(Utf8JsonWriter writer, TestEvent item, out string? invalidReason)
        {
            invalidReason = null;
            if (item.Throw) throw new InvalidOperationException("formatter failure");
            if (item.Invalid) { invalidReason = "test event marked invalid"; return false; }
            writer.WriteStartObject();
            writer.WritePropertyName(BentoJson.Type);
            BentoJson.WriteSafeString(writer, item.Type);
            writer.WritePropertyName(BentoJson.Email);
            BentoJson.WriteSafeString(writer, item.Email);
            if (item.Date is { } date) BentoJson.WriteDate(writer, BentoJson.Date, date);
            if (item.Fields != null) { writer.WritePropertyName(BentoJson.Fields); BentoJson.WriteValue(writer, item.Fields); }
            if (item.Details != null) { writer.WritePropertyName(BentoJson.Details); BentoJson.WriteValue(writer, item.Details); }
            writer.WriteEndObject();
            return true;
        }
    }
}
