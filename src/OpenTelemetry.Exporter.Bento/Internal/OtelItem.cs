using System;
using System.Collections.Generic;
using System.Diagnostics;

namespace OpenTelemetry.Exporter.Bento
{
    /// <summary>
    /// What the exporter queues. For an activity event: references only (activities are not pooled; the event's tags
    /// are read on the reader loop). For a log record: a copy, because the SDK pools and reuses records.
    /// </summary>
    internal readonly struct OtelItem
    {
        public OtelItem(string type, string email, DateTimeOffset date, Activity activity, ActivityEvent activityEvent, Baggage baggage)
        {
            Type = type;
            Email = email;
            Date = date;
            Activity = activity;
            Event = activityEvent;
            Baggage = baggage;
            Fields = null;
            Details = null;
        }

        public OtelItem(string type, string email, DateTimeOffset date, KeyValuePair<string, object?>[] fields, KeyValuePair<string, object?>[] details)
        {
            Type = type;
            Email = email;
            Date = date;
            Activity = null;
            Event = default;
            Baggage = default;
            Fields = fields;
            Details = details;
        }

        public string Type { get; }
        public string Email { get; }
        public DateTimeOffset Date { get; }
        public Activity? Activity { get; }
        public ActivityEvent Event { get; }
        public Baggage Baggage { get; }
        /// <summary>Log records only: the copied fields (already renamed).</summary>
        public KeyValuePair<string, object?>[]? Fields { get; }
        /// <summary>Log records only: the copied attributes.</summary>
        public KeyValuePair<string, object?>[]? Details { get; }
    }
}
