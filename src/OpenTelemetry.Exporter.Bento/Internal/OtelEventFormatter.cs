using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Text.Json;
using BentoSinks;
using BentoSinks.Delivery;
using BentoSinks.Json;

namespace OpenTelemetry.Exporter.Bento
{
    /// <summary>
    /// Where an <see cref="ActivityEvent"/> or a copied log record becomes a Bento event's JSON. The caller's thread
    /// only uses <see cref="IsAnalytics"/> and <see cref="FindEmail"/>; the rest runs on the pipeline's reader loop.
    /// </summary>
    internal sealed class OtelEventFormatter : IBentoEventFormatter<OtelItem>
    {
        private static readonly JsonEncodedText TraceIdName = JsonEncodedText.Encode("trace_id");
        private static readonly JsonEncodedText SpanIdName = JsonEncodedText.Encode("span_id");

        private readonly string _marker;
        private readonly Func<ActivityEvent, bool>? _filter;
        private readonly string[] _emailKeys;
        private readonly KeyValuePair<string, string>[] _fieldTags;
        private readonly HashSet<string> _notDetails;
        private readonly bool _traceContext;

        public OtelEventFormatter(BentoExporterOptions options)
        {
            _marker = options.AnalyticsTagName;
            _filter = options.AnalyticsEventFilter;
            _emailKeys = new List<string>(options.EmailTagNames).ToArray();
            _fieldTags = new List<KeyValuePair<string, string>>(options.FieldTagMappings).ToArray();
            _traceContext = options.IncludeTraceContext;
            _notDetails = new HashSet<string>(StringComparer.Ordinal) { _marker };
            foreach (var key in _emailKeys) _notDetails.Add(key);
            foreach (var pair in _fieldTags) _notDetails.Add(pair.Key);
        }

        /// <summary>Whether an activity event is an analytics event: the filter, else the marker tag set to true. No allocation.</summary>
        public bool IsAnalytics(in ActivityEvent activityEvent)
        {
            if (_filter != null) return _filter(activityEvent);
            foreach (ref readonly var tag in activityEvent.EnumerateTagObjects())
            {
                if (tag.Key == _marker)
                    return tag.Value is true || (tag.Value is string s && s.Equals("true", StringComparison.OrdinalIgnoreCase));
            }
            return false;
        }

        /// <summary>The email: for each key, the event's tags, the activity's tags, then baggage.</summary>
        public string? FindEmail(Activity activity, in ActivityEvent activityEvent, in Baggage baggage)
        {
            foreach (var key in _emailKeys)
            {
                if (Lookup(activity, activityEvent, baggage, key) is string s && BentoJson.LooksLikeEmail(s)) return s;
            }
            return null;
        }

        private static object? Lookup(Activity activity, in ActivityEvent activityEvent, in Baggage baggage, string key)
        {
            foreach (ref readonly var tag in activityEvent.EnumerateTagObjects())
            {
                if (tag.Key == key && tag.Value != null) return tag.Value;
            }
            var fromActivity = activity.GetTagItem(key);
            if (fromActivity != null) return fromActivity;
            return activity.GetBaggageItem(key) ?? baggage.GetBaggage(key);
        }

        public bool TryWriteEvent(Utf8JsonWriter writer, OtelItem item, out string? invalidReason)
        {
            invalidReason = null;
            writer.WriteStartObject();
            writer.WritePropertyName(BentoJson.Type);
            BentoJson.WriteSafeString(writer, item.Type);
            writer.WritePropertyName(BentoJson.Email);
            BentoJson.WriteSafeString(writer, item.Email);
            BentoJson.WriteDate(writer, BentoJson.Date, item.Date);
            if (item.Type == BuiltInEvents.Unsubscribe)
            {
                writer.WriteEndObject();
                return true;
            }

            // fields: flat scalars only
            var open = false;
            if (item.Fields != null)
            {
                foreach (var field in item.Fields) WriteField(writer, field.Key, field.Value, ref open);
            }
            else if (item.Activity != null)
            {
                foreach (var pair in _fieldTags) WriteField(writer, pair.Value, Lookup(item.Activity, item.Event, item.Baggage, pair.Key), ref open);
            }
            if (open) writer.WriteEndObject();

            var details = item.Details != null ? (IEnumerable<KeyValuePair<string, object?>>)item.Details : DetailsOf(item.Event);
            if (item.Type == BuiltInEvents.Purchase)
            {
                BentoPurchase? purchase = null;
                foreach (var pair in details)
                    if (pair.Value is BentoPurchase p && pair.Key.Equals("purchase", StringComparison.OrdinalIgnoreCase)) purchase = p;
                if (!BuiltInEvents.IsValid(purchase))
                {
                    invalidReason = BuiltInEvents.InvalidPurchase + " (a BentoPurchase under the tag or attribute 'Purchase')";
                    return false;
                }
                writer.WritePropertyName(BentoJson.Details);
                writer.WriteStartObject();
                BuiltInEvents.WritePurchaseMembers(writer, purchase!.Key, purchase.Amount, purchase.Currency);
                if (purchase.Cart != null)
                {
                    BuiltInEvents.WriteCartName(writer);
                    BentoJson.WriteValue(writer, purchase.Cart, 2);
                }
                foreach (var pair in details)
                {
                    if (pair.Value is BentoPurchase) continue;
                    BentoJson.WriteSafePropertyName(writer, pair.Key);
                    BentoJson.WriteValue(writer, pair.Value, 1);
                }
                WriteTraceContext(writer, item);
                writer.WriteEndObject();
            }
            else if (BuiltInEvents.IsTagType(item.Type))
            {
                string? tag = null;
                foreach (var pair in details)
                    if (pair.Key.Equals("tag", StringComparison.OrdinalIgnoreCase) && pair.Value is string s && s.Length > 0) tag = s;
                if (tag is null)
                {
                    invalidReason = $"a {item.Type} event needs a string Tag attribute or tag";
                    return false;
                }
                writer.WritePropertyName(BentoJson.Details);
                writer.WriteStartObject();
                writer.WritePropertyName(BuiltInEvents.TagName);
                BentoJson.WriteSafeString(writer, tag);
                writer.WriteEndObject();
            }
            else
            {
                var detailsOpen = false;
                foreach (var pair in details)
                {
                    if (!detailsOpen)
                    {
                        writer.WritePropertyName(BentoJson.Details);
                        writer.WriteStartObject();
                        detailsOpen = true;
                    }
                    BentoJson.WriteSafePropertyName(writer, pair.Key);
                    BentoJson.WriteValue(writer, pair.Value, 1);
                }
                if (_traceContext && item.Activity != null)
                {
                    if (!detailsOpen)
                    {
                        writer.WritePropertyName(BentoJson.Details);
                        writer.WriteStartObject();
                        detailsOpen = true;
                    }
                    WriteTraceContext(writer, item);
                }
                if (detailsOpen) writer.WriteEndObject();
            }
            writer.WriteEndObject();
            return true;
        }

        private void WriteTraceContext(Utf8JsonWriter writer, OtelItem item)
        {
            if (!_traceContext || item.Activity is null) return;
            writer.WriteString(TraceIdName, item.Activity.TraceId.ToHexString());
            writer.WriteString(SpanIdName, item.Activity.SpanId.ToHexString());
        }

        private IEnumerable<KeyValuePair<string, object?>> DetailsOf(ActivityEvent activityEvent)
        {
            foreach (var tag in activityEvent.Tags)
            {
                if (_notDetails.Contains(tag.Key)) continue;
                yield return tag;
            }
        }

        private static void WriteField(Utf8JsonWriter writer, string name, object? value, ref bool open)
        {
            if (value is null || !IsFlatScalar(value)) return;
            if (!open)
            {
                writer.WritePropertyName(BentoJson.Fields);
                writer.WriteStartObject();
                open = true;
            }
            BentoJson.WriteSafePropertyName(writer, name);
            BentoJson.TryWriteScalar(writer, value);
        }

        private static bool IsFlatScalar(object value)
            => value is string || value is bool || value is int || value is long || value is double || value is decimal || value is float
               || value is short || value is byte || value is uint || value is ulong || value is DateTime || value is DateTimeOffset || value is Guid || value is Enum;
    }
}
