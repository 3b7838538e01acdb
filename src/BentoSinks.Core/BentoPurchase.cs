namespace BentoSinks
{
    /// <summary>
    /// A purchase for Bento's built-in <c>$purchase</c> event, which feeds a subscriber's lifetime value. Log it
    /// destructured (<c>{@Purchase}</c>) on an event whose type is <c>$purchase</c>; it becomes
    /// <c>details.unique.key</c>, <c>details.value.currency</c>, <c>details.value.amount</c> and <c>details.cart</c>.
    /// </summary>
    public sealed class BentoPurchase
    {
        /// <summary>Creates a purchase.</summary>
        /// <param name="key">A unique key (an order id): Bento deduplicates purchases by it.</param>
        /// <param name="amount">The amount in the currency's minor unit (cents for USD): an integer, not negative.</param>
        /// <param name="currency">The three-letter ISO 4217 currency code, e.g. <c>USD</c>.</param>
        /// <param name="cart">An optional cart, written as <c>details.cart</c> (e.g. <c>new { items = …, abandoned_checkout_url = … }</c>).</param>
        public BentoPurchase(string key, long amount, string currency, object? cart = null)
        {
            Key = key;
            Amount = amount;
            Currency = currency;
            Cart = cart;
        }

        /// <summary>The unique key that deduplicates the purchase (<c>details.unique.key</c>).</summary>
        public string Key { get; }

        /// <summary>The amount in minor units (<c>details.value.amount</c>).</summary>
        public long Amount { get; }

        /// <summary>The three-letter currency code (<c>details.value.currency</c>).</summary>
        public string Currency { get; }

        /// <summary>The optional cart (<c>details.cart</c>).</summary>
        public object? Cart { get; }

        /// <summary>Describes the purchase.</summary>
        /// <returns>The key, amount and currency.</returns>
        public override string ToString() => $"{Key}: {Amount} {Currency}";
    }
}
