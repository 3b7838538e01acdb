using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace BentoSinks.Json
{
    /// <summary>
    /// Helpers every front end uses to write a Bento event: pre-encoded property names, the ISO 8601 date,
    /// strings made safe (lone surrogates replaced), non-finite numbers and a depth-capped writer for arbitrary values.
    /// </summary>
    internal static class BentoJson
    {
        /// <summary>Nesting deeper than this (below <c>details</c>) is written as a placeholder string.</summary>
        public const int MaxValueDepth = 32;

        public static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
        public static readonly JsonEncodedText Email = JsonEncodedText.Encode("email");
        public static readonly JsonEncodedText Date = JsonEncodedText.Encode("date");
        public static readonly JsonEncodedText Fields = JsonEncodedText.Encode("fields");
        public static readonly JsonEncodedText Details = JsonEncodedText.Encode("details");

        public static readonly JsonWriterOptions WriterOptions = new JsonWriterOptions
        {
            // Bodies go over HTTP, never into HTML: keep non-ASCII text readable and compact.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            Indented = false,
            // Our writers are structured by construction (tests parse every body); the pipeline still checks that
            // each event object was closed. Skipping the writer's own validation saves a tenth of the time.
            SkipValidation = true,
        };

        /// <summary>What a value nested deeper than <see cref="MaxValueDepth"/> is written as.</summary>
        public const string MaxDepthPlaceholder = "[max depth exceeded]";

        /// <summary>
        /// The depth cap, for every front end's value writer: at <see cref="MaxValueDepth"/> or deeper, writes the
        /// placeholder string instead of the value and returns true; the caller then writes nothing more for it.
        /// </summary>
        public static bool TryWriteTooDeep(Utf8JsonWriter writer, int depth)
        {
            if (depth < MaxValueDepth) return false;
            writer.WriteStringValue(MaxDepthPlaceholder);
            return true;
        }

        /// <summary>Writes <paramref name="value"/> in UTC as <c>yyyy-MM-ddTHH:mm:ss.fffZ</c>, as JavaScript's <c>toISOString</c>.</summary>
        public static void WriteDateValue(Utf8JsonWriter writer, DateTimeOffset value)
        {
            Span<byte> buf = stackalloc byte[24];
            FormatIso(value.UtcDateTime, buf);
            writer.WriteStringValue(buf);
        }

        public static void WriteDate(Utf8JsonWriter writer, JsonEncodedText name, DateTimeOffset value)
        {
            writer.WritePropertyName(name);
            WriteDateValue(writer, value);
        }

        private static void FormatIso(DateTime utc, Span<byte> b)
        {
            Digits(b.Slice(0, 4), utc.Year, 4); b[4] = (byte)'-';
            Digits(b.Slice(5, 2), utc.Month, 2); b[7] = (byte)'-';
            Digits(b.Slice(8, 2), utc.Day, 2); b[10] = (byte)'T';
            Digits(b.Slice(11, 2), utc.Hour, 2); b[13] = (byte)':';
            Digits(b.Slice(14, 2), utc.Minute, 2); b[16] = (byte)':';
            Digits(b.Slice(17, 2), utc.Second, 2); b[19] = (byte)'.';
            Digits(b.Slice(20, 3), utc.Millisecond, 3); b[23] = (byte)'Z';
        }

        private static void Digits(Span<byte> dest, int value, int count)
        {
            for (var i = count - 1; i >= 0; i--)
            {
                dest[i] = (byte)('0' + value % 10);
                value /= 10;
            }
        }

        /// <summary>Whether <paramref name="s"/> is well-formed UTF-16 (no lone surrogate).</summary>
        public static bool IsWellFormed(string s)
        {
#if NET8_0_OR_GREATER
            // Vectorized: almost every string has no surrogate at all.
            var first = s.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
            if (first < 0) return true;
            for (var i = first; i < s.Length; i++)
#else
            for (var i = 0; i < s.Length; i++)
#endif
            {
                var c = s[i];
                if (!char.IsSurrogate(c)) continue;
                if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { i++; continue; }
                return false;
            }
            return true;
        }

        /// <summary>Replaces lone surrogates with U+FFFD so that the text can be written as UTF-8.</summary>
        public static string MakeWellFormed(string s)
        {
            if (IsWellFormed(s)) return s;
            var chars = s.ToCharArray();
            for (var i = 0; i < chars.Length; i++)
            {
                var c = chars[i];
                if (!char.IsSurrogate(c)) continue;
                if (char.IsHighSurrogate(c) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1])) { i++; continue; }
                chars[i] = '\uFFFD';
            }
            return new string(chars);
        }

        public static void WriteSafeString(Utf8JsonWriter writer, string value) => writer.WriteStringValue(MakeWellFormed(value));

        public static void WriteSafePropertyName(Utf8JsonWriter writer, string name) => writer.WritePropertyName(MakeWellFormed(name));

        /// <summary>
        /// Pre-encoded property names, for the names that repeat from event to event. Used by one reader loop at a time
        /// (not thread-safe); bounded so that unusual keys cannot grow it without limit.
        /// </summary>
        internal sealed class NameCache
        {
            private const int Capacity = 2048;
            private readonly System.Collections.Generic.Dictionary<string, JsonEncodedText> _names =
                new System.Collections.Generic.Dictionary<string, JsonEncodedText>(StringComparer.Ordinal);

            public void WritePropertyName(Utf8JsonWriter writer, string name)
            {
                if (_names.TryGetValue(name, out var encoded))
                {
                    writer.WritePropertyName(encoded);
                    return;
                }
                var safe = MakeWellFormed(name);
                if (_names.Count < Capacity && name.Length <= 256)
                {
                    encoded = JsonEncodedText.Encode(safe, WriterOptions.Encoder);
                    _names[name] = encoded;
                    writer.WritePropertyName(encoded);
                }
                else
                {
                    writer.WritePropertyName(safe);
                }
            }
        }

        /// <summary>Writes a double; NaN and infinities (not JSON numbers) become the strings <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c>.</summary>
        public static void WriteDouble(Utf8JsonWriter writer, double value)
        {
            if (double.IsNaN(value)) writer.WriteStringValue("NaN");
            else if (double.IsPositiveInfinity(value)) writer.WriteStringValue("Infinity");
            else if (double.IsNegativeInfinity(value)) writer.WriteStringValue("-Infinity");
            else writer.WriteNumberValue(value);
        }

        public static void WriteFloat(Utf8JsonWriter writer, float value)
        {
            if (float.IsNaN(value) || float.IsInfinity(value)) WriteDouble(writer, value);
            else writer.WriteNumberValue(value);
        }

        /// <summary>Writes a scalar CLR value if it is one; returns false for anything else.</summary>
        public static bool TryWriteScalar(Utf8JsonWriter writer, object? value)
        {
            switch (value)
            {
                case null: writer.WriteNullValue(); return true;
                case string s: WriteSafeString(writer, s); return true;
                case bool b: writer.WriteBooleanValue(b); return true;
                case int i: writer.WriteNumberValue(i); return true;
                case long l: writer.WriteNumberValue(l); return true;
                case double d: WriteDouble(writer, d); return true;
                case decimal m: writer.WriteNumberValue(m); return true;
                case float f: WriteFloat(writer, f); return true;
                case short sh: writer.WriteNumberValue(sh); return true;
                case byte by: writer.WriteNumberValue(by); return true;
                case sbyte sb: writer.WriteNumberValue(sb); return true;
                case ushort us: writer.WriteNumberValue(us); return true;
                case uint ui: writer.WriteNumberValue(ui); return true;
                case ulong ul: writer.WriteNumberValue(ul); return true;
                case char c: WriteSafeString(writer, c.ToString()); return true;
                case DateTimeOffset dto: WriteDateValue(writer, dto); return true;
                case DateTime dt: WriteDateValue(writer, dt.Kind == DateTimeKind.Unspecified ? new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc)) : new DateTimeOffset(dt)); return true;
                case TimeSpan ts: writer.WriteStringValue(ts.ToString("c", CultureInfo.InvariantCulture)); return true;
                case Guid g: writer.WriteStringValue(g); return true;
                case Enum e: WriteSafeString(writer, e.ToString()); return true;
                case Uri u: WriteSafeString(writer, u.OriginalString); return true;
#if NET8_0_OR_GREATER
                case DateOnly d0: writer.WriteStringValue(d0.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)); return true;
                case TimeOnly t0: writer.WriteStringValue(t0.ToString("HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture)); return true;
                case Half h: WriteDouble(writer, (double)h); return true;
                case Int128 i128: writer.WriteRawValue(i128.ToString(CultureInfo.InvariantCulture), skipInputValidation: true); return true;
                case UInt128 u128: writer.WriteRawValue(u128.ToString(CultureInfo.InvariantCulture), skipInputValidation: true); return true;
#endif
                case System.Numerics.BigInteger bi: writer.WriteStringValue(bi.ToString(CultureInfo.InvariantCulture)); return true;
                default: return false;
            }
        }

        /// <summary>
        /// Whether <see cref="TryWriteScalar"/> writes <paramref name="value"/> as one JSON scalar, null excepted: what a
        /// flat <c>fields</c> entry may hold. Keep the two lists together.
        /// </summary>
        public static bool IsScalar(object? value)
        {
            switch (value)
            {
                case string _: case bool _: case int _: case long _: case double _: case decimal _: case float _:
                case short _: case byte _: case sbyte _: case ushort _: case uint _: case ulong _: case char _:
                case DateTimeOffset _: case DateTime _: case TimeSpan _: case Guid _: case Enum _: case Uri _:
#if NET8_0_OR_GREATER
                case DateOnly _: case TimeOnly _: case Half _: case Int128 _: case UInt128 _:
#endif
                case System.Numerics.BigInteger _:
                    return true;
                default:
                    return false;
            }
        }

        /// <summary>
        /// Writes any CLR value: scalars, dictionaries as objects (keys as strings), other sequences as arrays,
        /// anything else as its invariant string. Nesting past <see cref="MaxValueDepth"/> becomes a placeholder string.
        /// </summary>
        public static void WriteValue(Utf8JsonWriter writer, object? value, int depth = 0)
        {
            if (TryWriteScalar(writer, value)) return;
            if (value is JsonSnapshot snapshot)
            {
                writer.WriteRawValue(snapshot.Utf8, skipInputValidation: true); // written (and depth-capped) when logged
                return;
            }
            if (TryWriteTooDeep(writer, depth)) return;
            switch (value)
            {
                case IDictionary dict:
                    writer.WriteStartObject();
                    foreach (DictionaryEntry entry in dict)
                    {
                        WriteSafePropertyName(writer, Convert.ToString(entry.Key, CultureInfo.InvariantCulture) ?? "");
                        WriteValue(writer, entry.Value, depth + 1);
                    }
                    writer.WriteEndObject();
                    return;
                case IEnumerable<KeyValuePair<string, object?>> pairs:
                    writer.WriteStartObject();
                    foreach (var pair in pairs)
                    {
                        WriteSafePropertyName(writer, pair.Key ?? "");
                        WriteValue(writer, pair.Value, depth + 1);
                    }
                    writer.WriteEndObject();
                    return;
                case IEnumerable seq:
                    writer.WriteStartArray();
                    foreach (var item in seq) WriteValue(writer, item, depth + 1);
                    writer.WriteEndArray();
                    return;
                case IFormattable formattable:
                    WriteSafeString(writer, formattable.ToString(null, CultureInfo.InvariantCulture));
                    return;
                default:
                    WriteSafeString(writer, value!.ToString() ?? "");
                    return;
            }
        }
    }
}
