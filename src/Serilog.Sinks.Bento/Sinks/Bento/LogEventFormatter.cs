using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Json;
using BentoSinks;
using BentoSinks.Delivery;
using BentoSinks.Json;
using Serilog.Events;

namespace Serilog.Sinks.Bento
{
    /// <summary>
    /// What a Serilog <see cref="LogEvent"/> holds for Bento: <c>type</c> from the marker property, <c>email</c> from the
    /// first email property, <c>fields</c> from the mapped properties and the <c>{@Fields}</c> bag, <c>details</c> from
    /// the rest. <see cref="BentoEventWriter"/> writes the event (and Bento's built-in types) from them. Runs on the
    /// pipeline's reader loop; the caller's thread only uses <see cref="TryGetType"/> and <see cref="FindEmail"/>.
    /// </summary>
    internal sealed class LogEventFormatter : IBentoEventFormatter<LogEvent>, IBentoEventSource<LogEvent, LogEventPropertyValue>, IBentoValues<LogEventPropertyValue>
    {
        private static readonly JsonEncodedText TypeTagName = JsonEncodedText.Encode("$type");

        private readonly string _marker;
        private readonly string[] _emailNames;
        private readonly BentoFieldMap _fieldMap;
        private readonly string _fieldsProperty;
        private readonly HashSet<string> _notDetails;
        private readonly bool _typeTag;
        private readonly BentoEventWriter _events = new BentoEventWriter();
        private readonly string? _identityEmailName;
        private readonly string? _identityFirstNameName;
        private readonly string? _identityLastNameName;

        // Property names repeat as the same string instances (message templates are parsed once, enrichers use
        // literals): classify each name once, looked up by reference. Reader loop only; bounded.
        private const byte Detail = 1, NotDetail = 2, FieldMapped = 3;
        private const int MaxClassified = 4096;
        private readonly Dictionary<string, byte> _classified = new Dictionary<string, byte>(ReferenceComparer.Instance);

        public LogEventFormatter(BentoSinkOptions options)
        {
            _marker = options.AnalyticsEventPropertyName;
            _emailNames = new List<string>(options.EmailPropertyNames).ToArray();
            _fieldMap = new BentoFieldMap(options.FieldMappings);
            _fieldsProperty = options.FieldsPropertyName ?? "";
            _typeTag = options.IncludeTypeTag;
            _notDetails = new HashSet<string>(options.ExcludedProperties, StringComparer.Ordinal) { _marker };
            foreach (var name in _emailNames) _notDetails.Add(name);
            if (_fieldsProperty.Length > 0) _notDetails.Add(_fieldsProperty);
            _identityEmailName = _emailNames.Length > 0 ? _emailNames[0] : null;
            _identityFirstNameName = _fieldMap.FirstSourceOf("first_name");
            _identityLastNameName = _fieldMap.FirstSourceOf("last_name");
        }

        /// <summary>
        /// On the caller's thread, for an analytics event without an email of its own: a copy of the event carrying the
        /// ambient <see cref="BentoIdentity"/> under the first email property and the first sources of <c>first_name</c> and
        /// <c>last_name</c> (names only where the event has none). A copy, because other sinks share the event; null when
        /// no email property is configured.
        /// </summary>
        public LogEvent? WithIdentity(LogEvent logEvent, BentoIdentity identity)
        {
            if (_identityEmailName is null) return null;
            var source = logEvent.Properties;
            var properties = new List<LogEventProperty>(source.Count + 3);
            foreach (var p in source)
            {
                if (p.Key != _identityEmailName) properties.Add(new LogEventProperty(p.Key, p.Value));
            }
            properties.Add(new LogEventProperty(_identityEmailName, new ScalarValue(identity.Email)));
            AddName(properties, source, _identityFirstNameName, identity.FirstName);
            AddName(properties, source, _identityLastNameName, identity.LastName);
            return new LogEvent(logEvent.Timestamp, logEvent.Level, logEvent.Exception, logEvent.MessageTemplate, properties, logEvent.TraceId ?? default, logEvent.SpanId ?? default);
        }

        private static void AddName(List<LogEventProperty> properties, IReadOnlyDictionary<string, LogEventPropertyValue> source, string? name, string? value)
        {
            if (name is null || value is null || source.ContainsKey(name)) return;
            properties.Add(new LogEventProperty(name, new ScalarValue(value)));
        }

        /// <summary>Whether the event carries the analytics marker with a string value. No allocation.</summary>
        public bool TryGetType(LogEvent logEvent, out string type)
        {
            if (logEvent.Properties.TryGetValue(_marker, out var value) && value is ScalarValue { Value: string s } && s.Length > 0)
            {
                type = s;
                return true;
            }
            type = "";
            return false;
        }

        /// <summary>The first of the email properties whose value looks like an email, or null.</summary>
        public string? FindEmail(LogEvent logEvent)
        {
            var properties = logEvent.Properties;
            for (var i = 0; i < _emailNames.Length; i++)
            {
                if (properties.TryGetValue(_emailNames[i], out var value) && value is ScalarValue { Value: string s } && EmailAddress.LooksValid(s))
                    return s;
            }
            return null;
        }

        public bool TryWriteEvent(Utf8JsonWriter writer, LogEvent logEvent, out string? invalidReason)
        {
            // The sink queues only events with a type and an email; both are looked up again, and checked because a
            // LogEvent is mutable: another sink may remove or replace a property after Emit.
            invalidReason = null;
            if (!TryGetType(logEvent, out var type)) { invalidReason = "the analytics marker is missing"; return false; }
            var email = FindEmail(logEvent);
            if (email is null) { invalidReason = "no email"; return false; }
            return _events.TryWrite(writer, this, this, logEvent, type, email, logEvent.Timestamp, out invalidReason);
        }

        public void AddFields(in LogEvent item, ref BentoFields fields)
        {
            var properties = item.Properties;
            for (var f = 0; f < _fieldMap.FieldCount; f++)
            {
                for (var s = _fieldMap.FirstSource(f); s < _fieldMap.FirstSource(f + 1); s++)
                {
                    if (properties.TryGetValue(_fieldMap.Source(s), out var value) && value is ScalarValue scalar && fields.Add(_fieldMap.Field(f), scalar.Value)) break;
                }
            }
            if (_fieldsProperty.Length == 0 || !properties.TryGetValue(_fieldsProperty, out var bag)) return;
            if (bag is StructureValue structure)
            {
                var members = structure.Properties;
                for (var i = 0; i < members.Count; i++)
                    if (members[i].Value is ScalarValue scalar) fields.Add(members[i].Name, scalar.Value); // fields are flat: Bento refuses nested values
            }
            else if (bag is DictionaryValue dictionary)
            {
                foreach (var p in dictionary.Elements)
                    if (p.Value is ScalarValue scalar) fields.Add(KeyText(p.Key), scalar.Value);
            }
        }

        public void AddDetails(in LogEvent item, ref BentoDetails<LogEventPropertyValue> details)
        {
            if (item.Properties is Dictionary<string, LogEventPropertyValue> dictionary)
            {
                // Serilog's own dictionary: its struct enumerator does not allocate.
                foreach (var property in dictionary) AddDetail(ref details, property.Key, property.Value);
                return;
            }
            foreach (var property in item.Properties) AddDetail(ref details, property.Key, property.Value);
        }

        private void AddDetail(ref BentoDetails<LogEventPropertyValue> details, string name, LogEventPropertyValue value)
        {
            var kind = Classify(name);
            if (kind == NotDetail) return;
            // A field mapping only takes scalars; a non-scalar mapped property stays in details.
            if (kind == FieldMapped && value is ScalarValue) return;
            details.Add(name, value);
        }

        private byte Classify(string name)
        {
            if (_classified.TryGetValue(name, out var kind)) return kind;
            kind = _notDetails.Contains(name) ? NotDetail : _fieldMap.IsSource(name) ? FieldMapped : Detail;
            if (_classified.Count < MaxClassified) _classified[name] = kind;
            return kind;
        }

        public bool TryGetText(LogEventPropertyValue value, out string text)
        {
            text = value is ScalarValue { Value: string s } ? s : "";
            return value is ScalarValue { Value: string };
        }

        public bool TryReadPurchase(LogEventPropertyValue value, ref BentoPurchaseParts<LogEventPropertyValue> purchase)
        {
            if (value is StructureValue structure)
            {
                var members = structure.Properties;
                for (var i = 0; i < members.Count; i++) ReadPurchaseMember(ref purchase, members[i].Name, members[i].Value);
                return true;
            }
            if (value is DictionaryValue dictionary)
            {
                foreach (var p in dictionary.Elements) ReadPurchaseMember(ref purchase, KeyText(p.Key), p.Value);
                return true;
            }
            return false; // e.g. {Purchase} without @: Serilog stored its ToString()
        }

        private static void ReadPurchaseMember(ref BentoPurchaseParts<LogEventPropertyValue> purchase, string name, LogEventPropertyValue value)
        {
            var scalar = (value as ScalarValue)?.Value;
            switch (BuiltInEvents.ClassifyPurchaseMember(name))
            {
                case PurchaseMember.Key: purchase.SetKey(scalar); break;
                case PurchaseMember.Amount: purchase.SetAmount(scalar); break;
                case PurchaseMember.Currency: purchase.SetCurrency(scalar); break;
                case PurchaseMember.Cart: purchase.SetCart(value, isNull: value is ScalarValue { Value: null }); break;
            }
        }

        private static string KeyText(ScalarValue key) => Convert.ToString(key.Value, CultureInfo.InvariantCulture) ?? "";

        public void WriteValue(Utf8JsonWriter writer, LogEventPropertyValue value, int depth)
        {
            if (value is ScalarValue scalar)
            {
                if (!BentoJson.TryWriteScalar(writer, scalar.Value)) BentoJson.WriteValue(writer, scalar.Value, depth);
                return;
            }
            if (BentoJson.TryWriteTooDeep(writer, depth)) return;
            switch (value)
            {
                case SequenceValue sequence:
                    var elements = sequence.Elements; // indexed: enumerating the interface would allocate
                    writer.WriteStartArray();
                    for (var i = 0; i < elements.Count; i++) WriteValue(writer, elements[i], depth + 1);
                    writer.WriteEndArray();
                    break;
                case StructureValue structure:
                    writer.WriteStartObject();
                    if (_typeTag && structure.TypeTag != null)
                    {
                        writer.WritePropertyName(TypeTagName);
                        BentoJson.WriteSafeString(writer, structure.TypeTag);
                    }
                    var members = structure.Properties;
                    for (var i = 0; i < members.Count; i++)
                    {
                        _events.Names.WritePropertyName(writer, members[i].Name);
                        WriteValue(writer, members[i].Value, depth + 1);
                    }
                    writer.WriteEndObject();
                    break;
                case DictionaryValue dictionary:
                    writer.WriteStartObject();
                    foreach (var p in dictionary.Elements)
                    {
                        BentoJson.WriteSafePropertyName(writer, KeyText(p.Key));
                        WriteValue(writer, p.Value, depth + 1);
                    }
                    writer.WriteEndObject();
                    break;
                default:
                    BentoJson.WriteSafeString(writer, value.ToString());
                    break;
            }
        }

        private sealed class ReferenceComparer : IEqualityComparer<string>
        {
            public static readonly ReferenceComparer Instance = new ReferenceComparer();
            public bool Equals(string? x, string? y) => ReferenceEquals(x, y);
            public int GetHashCode(string obj) => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj);
        }
    }
}
