using System;
using System.Text.Json;

namespace BentoSinks.Json
{
    /// <summary>Bento's built-in event types and how their <c>details</c> are written.</summary>
    internal static class BuiltInEvents
    {
        public const string Purchase = "$purchase";
        public const string Unsubscribe = "$unsubscribe";
        public const string Tag = "$tag";
        public const string RemoveTag = "$remove_tag";

        public const string InvalidPurchase = "a $purchase needs a Purchase with a Key, an integer Amount of at least 0 in minor units and a three-letter Currency";

        private static readonly JsonEncodedText UniqueName = JsonEncodedText.Encode("unique");
        private static readonly JsonEncodedText KeyName = JsonEncodedText.Encode("key");
        private static readonly JsonEncodedText ValueName = JsonEncodedText.Encode("value");
        private static readonly JsonEncodedText CurrencyName = JsonEncodedText.Encode("currency");
        private static readonly JsonEncodedText AmountName = JsonEncodedText.Encode("amount");
        private static readonly JsonEncodedText CartName = JsonEncodedText.Encode("cart");
        public static readonly JsonEncodedText TagName = JsonEncodedText.Encode("tag");

        public static bool IsTagType(string type) => type == Tag || type == RemoveTag;

        public static bool IsCurrency(string? s)
            => s is { Length: 3 } && IsAsciiLetter(s[0]) && IsAsciiLetter(s[1]) && IsAsciiLetter(s[2]);

        private static bool IsAsciiLetter(char c) => (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');

        /// <summary>An amount in minor units: an integer (or an integral decimal/double) of at least 0.</summary>
        public static bool TryGetMinorUnits(object? value, out long minor)
        {
            minor = 0;
            switch (value)
            {
                case long l: minor = l; break;
                case int i: minor = i; break;
                case short s: minor = s; break;
                case byte b: minor = b; break;
                case uint ui: minor = ui; break;
                case ulong ul when ul <= long.MaxValue: minor = (long)ul; break;
                case decimal m when m == decimal.Truncate(m) && m <= long.MaxValue && m >= long.MinValue: minor = (long)m; break;
                case double d when !double.IsNaN(d) && !double.IsInfinity(d) && d == Math.Floor(d) && Math.Abs(d) < 9e15: minor = (long)d; break;
                default: return false;
            }
            return minor >= 0;
        }

        public static bool IsValid(BentoPurchase? purchase)
            => purchase != null && !string.IsNullOrEmpty(purchase.Key) && purchase.Amount >= 0 && IsCurrency(purchase.Currency);

        /// <summary>Writes <c>"unique":{"key":…},"value":{"currency":…,"amount":…}</c> and <c>"cart"</c> inside an open <c>details</c> object.</summary>
        public static void WritePurchaseMembers(Utf8JsonWriter writer, string key, long amount, string currency)
        {
            writer.WritePropertyName(UniqueName);
            writer.WriteStartObject();
            writer.WritePropertyName(KeyName);
            BentoJson.WriteSafeString(writer, key);
            writer.WriteEndObject();
            writer.WritePropertyName(ValueName);
            writer.WriteStartObject();
            writer.WriteString(CurrencyName, currency.ToUpperInvariant());
            writer.WriteNumber(AmountName, amount);
            writer.WriteEndObject();
        }

        public static void WriteCartName(Utf8JsonWriter writer) => writer.WritePropertyName(CartName);
    }
}
