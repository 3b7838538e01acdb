using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Text.Json;
using BentoSinks;
using BentoSinks.Delivery;
using BentoSinks.Json;
using OpenTelemetry.Logs;

namespace OpenTelemetry.Exporter.Bento
{
    /// <summary>
    /// What the log exporter queues for an analytics log record: a copy, because the SDK pools and reuses records.
    /// </summary>
    internal readonly struct LogRecordItem
    {
        public LogRecordItem(string type, string? email, DateTimeOffset date, object?[]? fields, KeyValuePair<string, object?>[] details)
        {
            Type = type;
            Email = email ?? "";
            Date = date;
            Fields = fields;
            Details = details;
        }

        public string Type { get; }
        /// <summary>The email, or empty when none was found (the pipeline counts the event <c>no_email</c>).</summary>
        public string Email { get; }
        public bool HasEmail => Email.Length > 0;
        public DateTimeOffset Date { get; }
        /// <summary>The values of the field mappings' sources, by source index (<see cref="BentoFieldMap"/>); null when none was found.</summary>
        public object?[]? Fields { get; }
        /// <summary>The record's own attributes (not scope values, not <c>{OriginalFormat}</c>), minus the marker, emails and fields.</summary>
        public KeyValuePair<string, object?>[] Details { get; }
    }

    /// <summary>
    /// Logs: every lookup a log record needs, and its Bento event. On the caller's thread (<c>OnEnd</c>):
    /// <see cref="Capture"/>, one pass over the record's attributes and scopes for the marker, the email, the fields and
    /// the details. On the reader loop: the copy handed to <see cref="BentoEventWriter"/>.
    /// </summary>
    internal sealed class LogRecordFormatter : IBentoEventFormatter<LogRecordItem>, IBentoEventSource<LogRecordItem, object?>
    {
        private const string OriginalFormat = "{OriginalFormat}";

        private readonly string _marker;
        private readonly Dictionary<string, int> _emailNames = new Dictionary<string, int>(StringComparer.Ordinal);
        private readonly BentoFieldMap _fieldMap;
        private readonly BentoEventWriter _events = new BentoEventWriter();
        private readonly int _firstNameSource;
        private readonly int _lastNameSource;

        [ThreadStatic] private static LogRecordCapture? t_capture;

        public LogRecordFormatter(BentoExporterOptions options)
        {
            _marker = options.LogAnalyticsAttributeName;
            foreach (var name in options.LogEmailAttributeNames)
                if (!_emailNames.ContainsKey(name)) _emailNames[name] = _emailNames.Count;
            _fieldMap = new BentoFieldMap(options.LogFieldMappings);
            _firstNameSource = SourceIndex(_fieldMap, "first_name");
            _lastNameSource = SourceIndex(_fieldMap, "last_name");
        }

        private static int SourceIndex(BentoFieldMap map, string field)
            => map.FirstSourceOf(field) is { } name && map.TryGetSource(name, out var source) ? source : -1;

        /// <summary>
        /// On the caller's thread: one pass over the record's attributes and scopes. The capture belongs to the calling
        /// thread and is reused by its next call once <see cref="LogRecordCapture.Release"/>d; <see cref="LogRecordCapture.ToItem"/>
        /// copies what must be queued.
        /// </summary>
        public LogRecordCapture Capture(LogRecord record)
        {
            // A record logged while this thread's capture is still in use (reading a detail ran the app's code, which
            // logged: an EF Core query's command line) gets its own, so neither record takes the other's values.
            var capture = t_capture ??= new LogRecordCapture();
            if (capture.InUse) capture = new LogRecordCapture();
            capture.InUse = true;
            capture.Reset(this, new DateTimeOffset(DateTime.SpecifyKind(record.Timestamp, DateTimeKind.Utc)));
            try
            {
                var attributes = record.Attributes;
                if (attributes != null) for (var i = 0; i < attributes.Count; i++) capture.Visit(attributes[i], fromScope: false);
                // The record's own marker wins; then the innermost ILogger.BeginBentoEvent scope (read here, on the caller's
                // thread, so it works without IncludeScopes); then a marker in an ordinary scope.
                if (capture.Type is null && BentoEventScope.Current is { } eventScope) capture.SetType(eventScope.Type);
                record.ForEachScope(static (scope, c) =>
                {
                    foreach (var pair in scope) c.Visit(pair, fromScope: true);
                }, capture);
            }
            catch (Exception ex)
            {
                // The app's state or a scope threw while being read (a dictionary changed by another thread): what was
                // read cannot be trusted (the email may be in what was not), so a business event is counted invalid.
                capture.Fail(ex);
                if (capture.Type is null && BentoEventScope.Current is { } eventScope) capture.SetType(eventScope.Type);
            }
            return capture;
        }

        public bool TryWriteEvent(Utf8JsonWriter writer, LogRecordItem item, out string? invalidReason)
            => _events.TryWrite(writer, this, ClrValues.Instance, item, item.Type, item.Email, item.Date, out invalidReason);

        public void AddFields(in LogRecordItem item, ref BentoFields fields) => _fieldMap.AddCaptured(item.Fields, ref fields);

        public void AddDetails(in LogRecordItem item, ref BentoDetails<object?> details)
        {
            foreach (var pair in item.Details) details.Add(pair.Key, pair.Value);
        }

        /// <summary>One record's marker, email, fields and details, gathered in one pass; reused per thread.</summary>
        internal sealed class LogRecordCapture
        {
            private LogRecordFormatter _owner = null!;
            private string?[] _emails = Array.Empty<string?>();
            private object?[] _fields = Array.Empty<object?>();
            private bool[] _emailFromScope = Array.Empty<bool>();
            private bool[] _fieldFromScope = Array.Empty<bool>();
            private bool _anyField;
            private DateTimeOffset _date;
            private readonly List<KeyValuePair<string, object?>> _details = new List<KeyValuePair<string, object?>>();

            /// <summary>The Bento type: the marker's string value, or null when the record is not an analytics event.</summary>
            public string? Type { get; private set; }

            /// <summary>The first email attribute, in the configured order, whose value looks like an email.</summary>
            public string? Email
            {
                get
                {
                    foreach (var e in _emails) if (e != null) return e;
                    return null;
                }
            }

            internal void Reset(LogRecordFormatter owner, DateTimeOffset date)
            {
                _owner = owner;
                _date = date;
                Type = null;
                if (_emails.Length != owner._emailNames.Count)
                {
                    _emails = new string?[owner._emailNames.Count];
                    _emailFromScope = new bool[_emails.Length];
                }
                else Array.Clear(_emails, 0, _emails.Length);
                if (_fields.Length != owner._fieldMap.SourceCount)
                {
                    _fields = new object?[owner._fieldMap.SourceCount];
                    _fieldFromScope = new bool[_fields.Length];
                }
                else Array.Clear(_fields, 0, _fields.Length);
                _anyField = false;
                Failure = null;
                MarkerNotText = false;
                _details.Clear();
            }

            internal void SetType(string type) => Type = type;

            /// <summary>Between <see cref="Capture"/> and <see cref="Release"/>: a record logged meanwhile on this thread gets its own capture.</summary>
            internal bool InUse { get; set; }

            /// <summary>The record is handled: the thread's next record may reuse this capture.</summary>
            public void Release() => InUse = false;

            /// <summary>The type of the exception thrown while the record was read, or null: the record cannot become an event.</summary>
            public string? Failure { get; private set; }

            internal void Fail(Exception ex) => Failure = ex.GetType().Name;

            /// <summary>The record's own marker attribute holds a value that is not a string (the record is no event: counted invalid).</summary>
            public bool MarkerNotText { get; private set; }

            internal void Visit(KeyValuePair<string, object?> pair, bool fromScope)
            {
                var key = pair.Key;
                if (key is null) return; // a hand-written state's unnamed value: nothing to look up, no detail
                if (key.Length > 1 && key[0] == '@')
                {
                    // A message template's {@Purchase}: Microsoft.Extensions.Logging keeps the '@' in the name, Serilog drops
                    // it; drop it here too, so one template means the same on both paths.
                    key = key.Substring(1);
                    pair = new KeyValuePair<string, object?>(key, pair.Value);
                }
                // The marker in any case: a [LoggerMessage] parameter analyticsEvent left out of the message template is an
                // attribute named after the parameter, so the type stays out of the human-readable message.
                if (key.Length == _owner._marker.Length && string.Equals(key, _owner._marker, StringComparison.OrdinalIgnoreCase))
                {
                    if (Type is null && pair.Value is string s && s.Length > 0) Type = s;
                    // The record's own marker holding something else than text (an enum parameter, a bool) was meant as an
                    // event: counted invalid, not ignored. Null and empty mark no event; so does anything in a scope.
                    else if (!fromScope && pair.Value != null && !(pair.Value is string)) MarkerNotText = true;
                    return;
                }
                if (_owner._emailNames.TryGetValue(key, out var email))
                {
                    if (_emails[email] is null && pair.Value is string e && EmailAddress.LooksValid(e))
                    {
                        _emails[email] = e;
                        _emailFromScope[email] = fromScope;
                    }
                    return;
                }
                if (_owner._fieldMap.TryGetSource(key, out var source))
                {
                    if (_fields[source] is null && pair.Value != null)
                    {
                        _fields[source] = pair.Value;
                        _fieldFromScope[source] = fromScope;
                        _anyField = true;
                    }
                    return;
                }
                if (!fromScope && key != OriginalFormat) _details.Add(pair);
            }

            /// <summary>
            /// A copy for the queue (the record and this capture are reused). A record without an email of its own takes the
            /// ambient <see cref="BentoIdentity"/> scope (or, with none in this flow, the live scope attached to the current
            /// activity; never an ended one), whose names fill the name fields the record left empty. Serilog's sink resolves
            /// it the same way, so both paths agree (e.g. in <c>Response.OnCompleted</c>, after the request's scope ended).
            /// </summary>
            public LogRecordItem ToItem()
            {
                var email = Email;
                if (email != null) DropNamesFromElsewhere(email);
                if (email is null && BentoIdentity.ForLog(Activity.Current) is { } identity)
                {
                    email = identity.Email;
                    FillName(_owner._firstNameSource, identity.FirstName);
                    FillName(_owner._lastNameSource, identity.LastName);
                }
                return new LogRecordItem(Type!, email, _date, _anyField ? (object?[])_fields.Clone() : null, SnapshotDetails());
            }

            /// <summary>
            /// The details as they are now, each name once. A list, dictionary or object the app changes after logging (reused
            /// for the next user) is written as JSON here, on the caller's thread, not when the batch goes; fields are scalars
            /// already. A template that names a hole twice (<c>"{plan} … {plan}"</c>) gives the record two attributes of one
            /// name, and a JSON object's member names must be unique: the last stays, as a JSON parser that tolerates
            /// duplicates keeps it (what Bento read before). Analytics records only, so plain lines pay nothing.
            /// </summary>
            private KeyValuePair<string, object?>[] SnapshotDetails()
            {
                for (var i = _details.Count - 2; i >= 0; i--)
                {
                    for (var j = i + 1; j < _details.Count; j++)
                    {
                        if (string.Equals(_details[i].Key, _details[j].Key, StringComparison.Ordinal)) { _details.RemoveAt(i); break; }
                    }
                }
                var details = new KeyValuePair<string, object?>[_details.Count];
                for (var i = 0; i < details.Length; i++)
                {
                    var pair = _details[i];
                    try
                    {
                        details[i] = new KeyValuePair<string, object?>(pair.Key, JsonSnapshot.Of(pair.Value, BentoEventWriter.DetailDepth));
                    }
                    catch (Exception ex)
                    {
                        Fail(ex); // the app's enumerator or ToString threw: the event is counted invalid
                        return details;
                    }
                }
                return details;
            }

            /// <summary>
            /// A name belongs with the email found beside it: a name from a scope (the signed-in user's) never joins an email
            /// of the record's own attributes (an invited user's), nor the other way round.
            /// </summary>
            private void DropNamesFromElsewhere(string email)
            {
                var fromScope = false;
                for (var i = 0; i < _emails.Length; i++)
                {
                    if (ReferenceEquals(_emails[i], email)) { fromScope = _emailFromScope[i]; break; }
                }
                DropNameFromElsewhere(_owner._firstNameSource, fromScope);
                DropNameFromElsewhere(_owner._lastNameSource, fromScope);
            }

            private void DropNameFromElsewhere(int name, bool fromScope)
            {
                if (name < 0) return;
                var map = _owner._fieldMap;
                var field = map.FieldOfSource(name);
                for (var s = map.FirstSource(field); s < map.FirstSource(field + 1); s++)
                {
                    if (_fields[s] != null && _fieldFromScope[s] != fromScope) _fields[s] = null;
                }
            }

            private void FillName(int source, string? name)
            {
                if (source < 0 || name is null) return;
                var map = _owner._fieldMap;
                var field = map.FieldOfSource(source);
                for (var s = map.FirstSource(field); s < map.FirstSource(field + 1); s++)
                {
                    if (BentoJson.IsScalar(_fields[s])) return; // the record's own value wins
                }
                _fields[source] = name;
                _anyField = true;
            }
        }
    }
}
