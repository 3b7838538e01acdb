using System.Text.Json;

namespace BentoSinks.Json
{
    /// <summary>
    /// Values held as CLR objects (activity tags, log record attributes): written by <see cref="BentoJson.WriteValue"/>,
    /// a tag is a string, a purchase is a <see cref="BentoPurchase"/>.
    /// </summary>
    internal sealed class ClrValues : IBentoValues<object?>
    {
        public static readonly ClrValues Instance = new ClrValues();

        private ClrValues()
        {
        }

        public void WriteValue(Utf8JsonWriter writer, object? value, int depth) => BentoJson.WriteValue(writer, value, depth);

        public bool TryGetText(object? value, out string text)
        {
            text = value as string ?? "";
            return value is string;
        }

        public bool TryReadPurchase(object? value, ref BentoPurchaseParts<object?> purchase)
        {
            if (value is not BentoPurchase p) return false;
            purchase.SetKey(p.Key);
            purchase.SetAmount(p.Amount);
            purchase.SetCurrency(p.Currency);
            purchase.SetCart(p.Cart, isNull: p.Cart is null);
            return true;
        }
    }
}
