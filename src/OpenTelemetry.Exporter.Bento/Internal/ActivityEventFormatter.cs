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
    /// What the trace exporter queues for an analytics activity event: the activity and the event by reference (activities
    /// are not pooled; the event's tags are read on the reader loop), and what was looked up on the caller's thread, where
    /// <see cref="Baggage.Current"/>, <see cref="BentoIdentity.Current"/> and the unfinished parents are: the email and the
    /// fields' values.
    /// </summary>
    internal readonly struct ActivityEventItem
    {
        public ActivityEventItem(Activity activity, in ActivityEvent activityEvent, string? email, object?[]? fields, KeyValuePair<string, object?>[]? details = null)
        {
            Activity = activity;
            Event = activityEvent;
            Email = email ?? "";
            Fields = fields;
            Details = details;
        }

        public Activity Activity { get; }
        public ActivityEvent Event { get; }
        /// <summary>The email, or empty when none was found (the pipeline counts the event <c>no_email</c>).</summary>
        public string Email { get; }
        public bool HasEmail => Email.Length > 0;
        /// <summary>The values of the field mappings' sources, by source index (<see cref="BentoFieldMap"/>), found on the caller's thread; null when none was found.</summary>
        public object?[]? Fields { get; }
        /// <summary>The event's details written as JSON when it was captured, when one of them could change later (a list, an object); null when all are scalars.</summary>
        public KeyValuePair<string, object?>[]? Details { get; }
    }

    /// <summary>
    /// Traces: every lookup an activity event needs, and its Bento event. On the caller's thread (<c>OnEnd</c>):
    /// <see cref="IsAnalytics"/> and <see cref="Capture"/> (the email and the fields' values, which may come from unfinished
    /// parents, baggage or the ambient identity). On the reader loop: the event's other tags as details, handed with the
    /// captured values to <see cref="BentoEventWriter"/>.
    /// </summary>
    internal sealed class ActivityEventFormatter : IBentoEventFormatter<ActivityEventItem>, IBentoEventSource<ActivityEventItem, object?>
    {
        private static readonly JsonEncodedText TraceIdName = JsonEncodedText.Encode("trace_id");
        private static readonly JsonEncodedText SpanIdName = JsonEncodedText.Encode("span_id");

        private readonly string _marker;
        private readonly Func<ActivityEvent, bool>? _filter;
        private readonly string[] _emailKeys;
        private readonly BentoFieldMap _fieldTags;
        private readonly HashSet<string> _notDetails;
        private readonly bool _traceContext;
        private readonly int _firstNameSource;
        private readonly int _lastNameSource;
        private readonly BentoEventWriter _events = new BentoEventWriter();

        public ActivityEventFormatter(BentoExporterOptions options)
        {
            _marker = options.AnalyticsTagName;
            _filter = options.AnalyticsEventFilter;
            _emailKeys = new List<string>(options.EmailTagNames).ToArray();
            _fieldTags = new BentoFieldMap(options.FieldTagMappings);
            _traceContext = options.IncludeTraceContext;
            _notDetails = new HashSet<string>(StringComparer.Ordinal) { _marker };
            foreach (var key in _emailKeys) _notDetails.Add(key);
            for (var s = 0; s < _fieldTags.SourceCount; s++) _notDetails.Add(_fieldTags.Source(s));
            _firstNameSource = SourceIndex(_fieldTags, "first_name");
            _lastNameSource = SourceIndex(_fieldTags, "last_name");
        }

        private static int SourceIndex(BentoFieldMap map, string field)
            => map.FirstSourceOf(field) is { } name && map.TryGetSource(name, out var source) ? source : -1;

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

        /// <summary>
        /// On the caller's thread: the item to queue. The email, for each key: the event's tags, the activity's tags, its
        /// in-process parents' tags (nearest first; an ancestor already stopped is skipped: this activity outlived it), the
        /// activity's baggage (not an ended ancestor's), then <see cref="Baggage.Current"/>; none of
        /// them: the user of the <see cref="BentoIdentity"/> scopes open on the activity when the event was recorded, when
        /// no flow without that user's scope can have recorded it (<see cref="BentoIdentity.ForActivityEvent"/>), never the
        /// scope the activity ends in. The fields are looked up like the email; an
        /// identity's names fill the fields left empty only for an event that identity identified.
        /// </summary>
        /// <param name="activity">The ending activity.</param>
        /// <param name="activityEvent">The analytics event.</param>
        /// <param name="eventIndex">The event's position among the activity's events (when it was recorded, relative to the identity's scope).</param>
        public ActivityEventItem Capture(Activity activity, in ActivityEvent activityEvent, int eventIndex)
        {
            // Baggage.Current is the ending flow's: when that is not the scope that owns the activity (the activity was
            // handed to another request, which stops it), it says nothing about who recorded the activity's events.
            var baggage = BentoIdentity.EndsOutsideItsScope(activity) ? default : Baggage.Current;
            var email = FindEmail(activity, activityEvent, baggage, out var emailLevel);
            var identity = email is null ? BentoIdentity.ForActivityEvent(activity, eventIndex) : null;
            object?[]? fields = null;
            for (var s = 0; s < _fieldTags.SourceCount; s++)
            {
                var value = Lookup(activity, activityEvent, baggage, _fieldTags.Source(s), out var level);
                if (value is null) continue;
                // A name belongs with the email found beside it: a name tagged for another user (the signed-in user on the
                // request activity) never joins an email found elsewhere (the invited user's, on the event).
                if (email != null && level != emailLevel && IsNameSource(s)) continue;
                fields ??= new object?[_fieldTags.SourceCount];
                fields[s] = value;
            }
            if (identity != null)
            {
                FillName(ref fields, _firstNameSource, identity.FirstName);
                FillName(ref fields, _lastNameSource, identity.LastName);
            }
            return new ActivityEventItem(activity, activityEvent, email ?? identity?.Email, fields, SnapshotDetails(activityEvent));
        }

        /// <summary>
        /// On the caller's thread: when a detail tag holds a list, a dictionary or an object the app may change after the
        /// activity ended (reused for the next user), the details written as JSON now, as log records' are; null (nothing
        /// copied) when all are scalars. A value whose reading throws is kept as it is: read again when the batch goes, it
        /// is counted as before.
        /// </summary>
        private KeyValuePair<string, object?>[]? SnapshotDetails(in ActivityEvent activityEvent)
        {
            var changeable = false;
            foreach (ref readonly var tag in activityEvent.EnumerateTagObjects())
            {
                if (tag.Value != null && !BentoJson.IsScalar(tag.Value) && !_notDetails.Contains(tag.Key)) { changeable = true; break; }
            }
            if (!changeable) return null;
            var details = new List<KeyValuePair<string, object?>>();
            foreach (ref readonly var tag in activityEvent.EnumerateTagObjects())
            {
                if (_notDetails.Contains(tag.Key)) continue;
                var value = tag.Value;
                try
                {
                    value = JsonSnapshot.Of(value, BentoEventWriter.DetailDepth);
                }
                catch (Exception)
                {
                    value = tag.Value;
                }
                details.Add(new KeyValuePair<string, object?>(tag.Key, value));
            }
            return details.ToArray();
        }

        private void FillName(ref object?[]? fields, int source, string? name)
        {
            if (source < 0 || name is null) return;
            var field = _fieldTags.FieldOfSource(source);
            if (fields != null)
            {
                for (var s = _fieldTags.FirstSource(field); s < _fieldTags.FirstSource(field + 1); s++)
                {
                    if (BentoJson.IsScalar(fields[s])) return; // the event's own value wins
                }
            }
            fields ??= new object?[_fieldTags.SourceCount];
            fields[source] = name;
        }

        /// <summary>The email: for each key, the event's tags, the activity's and its parents' tags, then baggage.</summary>
        private string? FindEmail(Activity activity, in ActivityEvent activityEvent, in Baggage baggage, out int level)
        {
            foreach (var key in _emailKeys)
            {
                if (Lookup(activity, activityEvent, baggage, key, out level) is string s && EmailAddress.LooksValid(s)) return s;
            }
            level = -1;
            return null;
        }

        private bool IsNameSource(int source)
            => (_firstNameSource >= 0 && _fieldTags.FieldOfSource(source) == _fieldTags.FieldOfSource(_firstNameSource))
            || (_lastNameSource >= 0 && _fieldTags.FieldOfSource(source) == _fieldTags.FieldOfSource(_lastNameSource));

        /// <summary>The value of <paramref name="key"/>; <paramref name="level"/> says where it was found (0: the event, 1 + n: the n-th activity up the chain, int.MaxValue - 1: the activity's baggage, int.MaxValue: <see cref="Baggage.Current"/>).</summary>
        private static object? Lookup(Activity activity, in ActivityEvent activityEvent, in Baggage baggage, string key, out int level)
        {
            level = 0;
            foreach (ref readonly var tag in activityEvent.EnumerateTagObjects())
            {
                if (tag.Key == key && tag.Value != null) return tag.Value;
            }
            Activity? endedAncestor = null;
            for (var a = activity; a != null; a = a.Parent)
            {
                level++;
                if (!ReferenceEquals(a, activity) && a.IsStopped)
                {
                    // This activity outlived that ancestor (background work that copied the request's context): the ended
                    // ancestor's tags (a user's email tagged on the request) describe work that is over, not this one.
                    endedAncestor ??= a;
                    continue;
                }
                // An ancestor started in another scope (Ada's request, for a job pushed as its owner by a consumer that her
                // request started): its tags are that other work's, not this activity's.
                if (!ReferenceEquals(a, activity) && BentoIdentity.OtherScopes(activity, a)) continue;
                var fromActivity = a.GetTagItem(key);
                if (fromActivity != null) return fromActivity;
            }
            var fromBaggage = activity.GetBaggageItem(key);
            // Activity baggage is inherited from the parents: a value that is an ended ancestor's is not this work's either.
            if (fromBaggage != null && endedAncestor != null && ReferenceEquals(endedAncestor.GetBaggageItem(key), fromBaggage)) fromBaggage = null;
            if (fromBaggage != null)
            {
                level = int.MaxValue - 1;
                return fromBaggage;
            }
            level = int.MaxValue;
            return baggage.GetBaggage(key);
        }

        public bool TryWriteEvent(Utf8JsonWriter writer, ActivityEventItem item, out string? invalidReason)
            => _events.TryWrite(writer, this, ClrValues.Instance, item, item.Event.Name, item.Email, item.Event.Timestamp, out invalidReason);

        public void AddFields(in ActivityEventItem item, ref BentoFields fields) => _fieldTags.AddCaptured(item.Fields, ref fields);

        public void AddDetails(in ActivityEventItem item, ref BentoDetails<object?> details)
        {
            if (item.Details is { } captured)
            {
                foreach (var pair in captured) details.Add(pair.Key, pair.Value);
            }
            else
            {
                var activityEvent = item.Event;
                foreach (ref readonly var tag in activityEvent.EnumerateTagObjects())
                {
                    if (!_notDetails.Contains(tag.Key)) details.Add(tag.Key, tag.Value);
                }
            }
            if (!_traceContext) return;
            details.Add(TraceIdName, item.Activity.TraceId.ToHexString().AsSpan());
            details.Add(SpanIdName, item.Activity.SpanId.ToHexString().AsSpan());
        }
    }
}
