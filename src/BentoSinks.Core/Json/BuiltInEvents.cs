using System;
using System.Globalization;
using System.Text.Json;

namespace BentoSinks.Json
{
    /// <summary>
    /// Bento's built-in event types and the rules of their values. Only <see cref="BentoEventWriter"/> and
    /// <see cref="BentoPurchaseParts{TValue}"/> use them: front ends feed the writer and never test a type themselves.
    /// </summary>
    internal static class BuiltInEvents
    {
        public const string Purchase = "$purchase";
        public const string Unsubscribe = "$unsubscribe";
        public const string Tag = "$tag";
        public const string RemoveTag = "$remove_tag";

        /// <summary>The detail (any case) that holds a <c>$purchase</c>'s purchase: a <see cref="BentoPurchase"/> or an object with its members.</summary>
        public const string PurchaseDetail = "Purchase";

        /// <summary>The detail (any case) that holds a <c>$tag</c> / <c>$remove_tag</c>'s tag: a non-empty string.</summary>
        public const string TagDetail = "Tag";

        public const string InvalidPurchase = "a $purchase needs a Purchase (a BentoPurchase, or in Serilog an object logged destructured: {@Purchase}) with a Key, an integer Amount of at least 0 in minor units and a three-letter Currency";
        public const string InvalidTag = "a $tag event needs a string Tag";
        public const string InvalidRemoveTag = "a $remove_tag event needs a string Tag";

        private static readonly JsonEncodedText UniqueName = JsonEncodedText.Encode("unique");
        private static readonly JsonEncodedText KeyName = JsonEncodedText.Encode("key");
        private static readonly JsonEncodedText ValueName = JsonEncodedText.Encode("value");
        private static readonly JsonEncodedText CurrencyName = JsonEncodedText.Encode("currency");
        private static readonly JsonEncodedText AmountName = JsonEncodedText.Encode("amount");
        public static readonly JsonEncodedText CartName = JsonEncodedText.Encode("cart");
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

        /// <summary>Which member of a purchase written as an object or a dictionary <paramref name="name"/> is: <c>Key</c>, <c>Amount</c>, <c>Currency</c>, <c>Cart</c>, in any case.</summary>
        public static PurchaseMember ClassifyPurchaseMember(string name)
        {
            if (name.Equals("Key", StringComparison.OrdinalIgnoreCase)) return PurchaseMember.Key;
            if (name.Equals("Amount", StringComparison.OrdinalIgnoreCase)) return PurchaseMember.Amount;
            if (name.Equals("Currency", StringComparison.OrdinalIgnoreCase)) return PurchaseMember.Currency;
            if (name.Equals("Cart", StringComparison.OrdinalIgnoreCase)) return PurchaseMember.Cart;
            return PurchaseMember.None;
        }

        /// <summary>Writes <c>"unique":{"key":…},"value":{"currency":…,"amount":…}</c> inside an open <c>details</c> object.</summary>
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

        /// <summary>A purchase key as text: a string as it is, another scalar (an order number) in invariant form.</summary>
        public static string? KeyText(object? key)
            => key is string s ? s : key is null ? null : Convert.ToString(key, CultureInfo.InvariantCulture);
    }

    /// <summary>The members of a purchase given as an object or a dictionary.</summary>
    internal enum PurchaseMember
    {
        None,
        Key,
        Amount,
        Currency,
        Cart,
    }
}
