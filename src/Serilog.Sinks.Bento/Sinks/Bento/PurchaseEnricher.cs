using BentoSinks;
using Serilog.Core;
using Serilog.Events;

namespace Serilog.Sinks.Bento
{
    /// <summary>
    /// Adds a <see cref="BentoPurchase"/> as the <c>Purchase</c> property, built member by member as the structure
    /// Serilog's destructuring would make (<c>Key</c>, <c>Amount</c>, <c>Currency</c>, <c>Cart</c>; type tag
    /// <c>BentoPurchase</c>), without reflection: under Native AOT the trimmed <see cref="BentoPurchase"/> has no property
    /// metadata left for Serilog's reflection-based destructuring, which then produced an empty structure and the
    /// <c>$purchase</c> was dropped as invalid (samples/BentoSinks.AotSample caught it). Only a cart, an object of the
    /// app's own, is destructured by Serilog.
    /// </summary>
    internal sealed class PurchaseEnricher : ILogEventEnricher
    {
        private const string PropertyName = "Purchase";
        private readonly BentoPurchase _purchase;
        private readonly LogEventProperty? _fixed;

        public PurchaseEnricher(BentoPurchase purchase)
        {
            _purchase = purchase;
            if (purchase.Cart is null) _fixed = new LogEventProperty(PropertyName, Structure(purchase, new ScalarValue(null)));
        }

        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
        {
            var property = _fixed ?? new LogEventProperty(PropertyName,
                Structure(_purchase, propertyFactory.CreateProperty("Cart", _purchase.Cart, destructureObjects: true).Value));
            logEvent.AddPropertyIfAbsent(property);
        }

        private static StructureValue Structure(BentoPurchase purchase, LogEventPropertyValue cart) => new StructureValue(
            new[]
            {
                new LogEventProperty(nameof(BentoPurchase.Key), new ScalarValue(purchase.Key)),
                new LogEventProperty(nameof(BentoPurchase.Amount), new ScalarValue(purchase.Amount)),
                new LogEventProperty(nameof(BentoPurchase.Currency), new ScalarValue(purchase.Currency)),
                new LogEventProperty(nameof(BentoPurchase.Cart), cart),
            },
            nameof(BentoPurchase));
    }
}
