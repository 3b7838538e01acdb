using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Json;
using BentoSinks.Delivery;
using BentoSinks.Json;
using Serilog.Events;

namespace Serilog.Sinks.Bento
{
    /// <summary>
    /// Where a Serilog <see cref="LogEvent"/> becomes a Bento event's JSON: <c>type</c> from the marker property,
    /// <c>email</c> from the first email property, <c>date</c> from the timestamp, <c>fields</c> from mapped
    /// properties, <c>details</c> from the rest, and Bento's built-in types (<c>$purchase</c>, <c>$tag</c>, …).
    /// Runs on the pipeline's reader loop; the caller's thread only uses <see cref="TryGetType"/> and <see cref="FindEmail"/>.
    /// </summary>
    internal sealed class LogEventFormatter : IBentoEventFormatter<LogEvent>
    {
        private const string PurchaseProperty = "Purchase";
        private const string TagProperty = "Tag";

        private static readonly JsonEncodedText TypeTagName = JsonEncodedText.Encode("$type");

        private readonly string _marker;
        private readonly string[] _emailNames;
        private readonly KeyValuePair<string, JsonEncodedText>[] _fieldMap;
        private readonly string _fieldsProperty;
        private readonly HashSet<string> _notDetails;
        private readonly HashSet<string> _fieldMapped;
        private readonly bool _typeTag;
        private readonly BentoJson.NameCache _names = new BentoJson.NameCache();

        // Property names repeat as the same string instances (message templates are parsed once, enrichers use
        // literals): classify each name once, looked up by reference. Reader loop only; bounded.
        private const byte Detail = 1, NotDetail = 2, FieldMapped = 3;
        private const int MaxClassified = 4096;
        private readonly Dictionary<string, byte> _classified = new Dictionary<string, byte>(ReferenceComparer.Instance);

        private byte Classify(string name)
        {
            if (_classified.TryGetValue(name, out var kind)) return kind;
            kind = _notDetails.Contains(name) ? NotDetail : _fieldMapped.Contains(name) ? FieldMapped : Detail;
            if (_classified.Count < MaxClassified) _classified[name] = kind;
            return kind;
        }

        private sealed class ReferenceComparer : IEqualityComparer<string>
        {
            public static readonly ReferenceComparer Instance = new ReferenceComparer();
            public bool Equals(string? x, string? y) => ReferenceEquals(x, y);
            public int GetHashCode(string obj) => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj);
        }

        public LogEventFormatter(BentoSinkOptions options)
        {
            _marker = options.AnalyticsEventPropertyName;
            _emailNames = new List<string>(options.EmailPropertyNames).ToArray();
            var map = new List<KeyValuePair<string, JsonEncodedText>>();
            foreach (var pair in options.FieldMappings) map.Add(new KeyValuePair<string, JsonEncodedText>(pair.Key, JsonEncodedText.Encode(pair.Value)));
            _fieldMap = map.ToArray();
            _fieldsProperty = options.FieldsPropertyName ?? "";
            _typeTag = options.IncludeTypeTag;
            _notDetails = new HashSet<string>(options.ExcludedProperties, StringComparer.Ordinal) { _marker };
            foreach (var name in _emailNames) _notDetails.Add(name);
            _fieldMapped = new HashSet<string>(StringComparer.Ordinal);
            foreach (var pair in _fieldMap) _fieldMapped.Add(pair.Key);
            if (_fieldsProperty.Length > 0) _notDetails.Add(_fieldsProperty);
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
                if (properties.TryGetValue(_emailNames[i], out var value) && value is ScalarValue { Value: string s } && BentoJson.LooksLikeEmail(s))
                    return s;
            }
            return null;
        }

        public bool TryWriteEvent(Utf8JsonWriter writer, LogEvent logEvent, out string? invalidReason)
        {
            invalidReason = null;
            if (!TryGetType(logEvent, out var type)) { invalidReason = "the analytics marker is missing"; return false; }
            var email = FindEmail(logEvent);
            if (email is null) { invalidReason = "no email"; return false; }
            var properties = logEvent.Properties;

            writer.WriteStartObject();
            writer.WritePropertyName(BentoJson.Type);
            BentoJson.WriteSafeString(writer, type);
            writer.WritePropertyName(BentoJson.Email);
            BentoJson.WriteSafeString(writer, email);
            BentoJson.WriteDate(writer, BentoJson.Date, logEvent.Timestamp);

            if (type == BuiltInEvents.Unsubscribe)
            {
                writer.WriteEndObject();
                return true;
            }

            WriteFields(writer, properties);

            switch (type)
            {
                case BuiltInEvents.Purchase:
                    if (!TryWritePurchase(writer, properties, out invalidReason)) return false;
                    break;
                case "$tag":
                case "$remove_tag":
                    if (!properties.TryGetValue(TagProperty, out var tag) || tag is not ScalarValue { Value: string tagText } || tagText.Length == 0)
                    {
                        invalidReason = $"a {type} event needs a string Tag property";
                        return false;
                    }
                    writer.WritePropertyName(BentoJson.Details);
                    writer.WriteStartObject();
                    writer.WritePropertyName(BuiltInEvents.TagName);
                    BentoJson.WriteSafeString(writer, tagText);
                    writer.WriteEndObject();
                    break;
                default:
                    var open = false;
                    WriteDetails(writer, properties, ref open, skip: null);
                    if (open) writer.WriteEndObject();
                    break;
            }
            writer.WriteEndObject();
            return true;
        }

        private void WriteFields(Utf8JsonWriter writer, IReadOnlyDictionary<string, LogEventPropertyValue> properties)
        {
            var open = false;
            for (var i = 0; i < _fieldMap.Length; i++)
            {
                if (properties.TryGetValue(_fieldMap[i].Key, out var value) && value is ScalarValue scalar)
                {
                    OpenObject(writer, BentoJson.Fields, ref open);
                    writer.WritePropertyName(_fieldMap[i].Value);
                    WriteScalar(writer, scalar.Value);
                }
            }
            if (_fieldsProperty.Length > 0 && properties.TryGetValue(_fieldsProperty, out var bag))
            {
                if (bag is StructureValue structure)
                {
                    foreach (var p in structure.Properties)
                    {
                        if (p.Value is not ScalarValue scalar) continue; // fields are flat: Bento refuses nested values
                        OpenObject(writer, BentoJson.Fields, ref open);
                        BentoJson.WriteSafePropertyName(writer, p.Name);
                        WriteScalar(writer, scalar.Value);
                    }
                }
                else if (bag is DictionaryValue dictionary)
                {
                    foreach (var p in dictionary.Elements)
                    {
                        if (p.Value is not ScalarValue scalar) continue;
                        OpenObject(writer, BentoJson.Fields, ref open);
                        BentoJson.WriteSafePropertyName(writer, KeyText(p.Key));
                        WriteScalar(writer, scalar.Value);
                    }
                }
            }
            if (open) writer.WriteEndObject();
        }

        private void WriteDetails(Utf8JsonWriter writer, IReadOnlyDictionary<string, LogEventPropertyValue> properties, ref bool open, string? skip)
        {
            if (properties is Dictionary<string, LogEventPropertyValue> dictionary)
            {
                // Serilog's own dictionary: its struct enumerator does not allocate.
                foreach (var property in dictionary) WriteDetail(writer, property, ref open, skip);
                return;
            }
            foreach (var property in properties) WriteDetail(writer, property, ref open, skip);
        }

        private void WriteDetail(Utf8JsonWriter writer, KeyValuePair<string, LogEventPropertyValue> property, ref bool open, string? skip)
        {
            var kind = Classify(property.Key);
            if (kind == NotDetail || (skip != null && property.Key == skip)) return;
            // A field mapping only takes scalars; a non-scalar mapped property stays in details.
            if (kind == FieldMapped && property.Value is ScalarValue) return;
            OpenObject(writer, BentoJson.Details, ref open);
            _names.WritePropertyName(writer, property.Key);
            WriteValue(writer, property.Value, 1);
        }

        private static void OpenObject(Utf8JsonWriter writer, JsonEncodedText name, ref bool open)
        {
            if (open) return;
            writer.WritePropertyName(name);
            writer.WriteStartObject();
            open = true;
        }

        private bool TryWritePurchase(Utf8JsonWriter writer, IReadOnlyDictionary<string, LogEventPropertyValue> properties, out string? invalidReason)
        {
            invalidReason = BuiltInEvents.InvalidPurchase + " (log it destructured: {@Purchase})";
            if (!properties.TryGetValue(PurchaseProperty, out var value)) return false;
            LogEventPropertyValue? key = null, amount = null, currency = null, cart = null;
            if (value is StructureValue structure)
            {
                foreach (var p in structure.Properties) Assign(p.Name, p.Value, ref key, ref amount, ref currency, ref cart);
            }
            else if (value is DictionaryValue dictionary)
            {
                foreach (var p in dictionary.Elements) Assign(KeyText(p.Key), p.Value, ref key, ref amount, ref currency, ref cart);
            }
            else
            {
                return false;
            }
            if (key is not ScalarValue { Value: { } keyValue } || Convert.ToString(keyValue, CultureInfo.InvariantCulture) is not { Length: > 0 } keyText) return false;
            if (amount is not ScalarValue amountScalar || !BuiltInEvents.TryGetMinorUnits(amountScalar.Value, out var minor)) return false;
            if (currency is not ScalarValue { Value: string currencyText } || !BuiltInEvents.IsCurrency(currencyText)) return false;

            writer.WritePropertyName(BentoJson.Details);
            writer.WriteStartObject();
            BuiltInEvents.WritePurchaseMembers(writer, keyText, minor, currencyText);
            if (cart != null && !(cart is ScalarValue { Value: null }))
            {
                BuiltInEvents.WriteCartName(writer);
                WriteValue(writer, cart, 2);
            }
            var open = true;
            WriteDetails(writer, properties, ref open, skip: PurchaseProperty);
            writer.WriteEndObject();
            invalidReason = null;
            return true;
        }

        private static void Assign(string name, LogEventPropertyValue value, ref LogEventPropertyValue? key, ref LogEventPropertyValue? amount, ref LogEventPropertyValue? currency, ref LogEventPropertyValue? cart)
        {
            if (name.Equals("Key", StringComparison.OrdinalIgnoreCase)) key = value;
            else if (name.Equals("Amount", StringComparison.OrdinalIgnoreCase)) amount = value;
            else if (name.Equals("Currency", StringComparison.OrdinalIgnoreCase)) currency = value;
            else if (name.Equals("Cart", StringComparison.OrdinalIgnoreCase)) cart = value;
        }

        private static string KeyText(ScalarValue key) => Convert.ToString(key.Value, CultureInfo.InvariantCulture) ?? "";

        private static void WriteScalar(Utf8JsonWriter writer, object? value)
        {
            if (!BentoJson.TryWriteScalar(writer, value)) BentoJson.WriteSafeString(writer, Convert.ToString(value, CultureInfo.InvariantCulture) ?? "");
        }

        private void WriteValue(Utf8JsonWriter writer, LogEventPropertyValue value, int depth)
        {
            if (value is ScalarValue scalar)
            {
                if (!BentoJson.TryWriteScalar(writer, scalar.Value)) BentoJson.WriteValue(writer, scalar.Value, depth);
                return;
            }
            if (depth >= BentoJson.MaxValueDepth)
            {
                writer.WriteStringValue("[max depth exceeded]");
                return;
            }
            switch (value)
            {
                case SequenceValue sequence:
                    writer.WriteStartArray();
                    foreach (var element in sequence.Elements) WriteValue(writer, element, depth + 1);
                    writer.WriteEndArray();
                    break;
                case StructureValue structure:
                    writer.WriteStartObject();
                    if (_typeTag && structure.TypeTag != null)
                    {
                        writer.WritePropertyName(TypeTagName);
                        BentoJson.WriteSafeString(writer, structure.TypeTag);
                    }
                    foreach (var p in structure.Properties)
                    {
                        _names.WritePropertyName(writer, p.Name);
                        WriteValue(writer, p.Value, depth + 1);
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
    }
}
