using System;
using System.Text.Json;

namespace BentoSinks.Json
{
    /// <summary>
    /// What a front end knows about one of its queued items: its <c>fields</c> and its <c>details</c>, as name/value
    /// pairs handed to <see cref="BentoEventWriter"/>. Lookups only: no rule of Bento's format belongs here.
    /// </summary>
    /// <typeparam name="TItem">What the front end queues (a Serilog <c>LogEvent</c>, an activity event, a copied log record).</typeparam>
    /// <typeparam name="TValue">How the front end holds a detail's value (a Serilog <c>LogEventPropertyValue</c>, a CLR object).</typeparam>
    internal interface IBentoEventSource<TItem, TValue>
    {
        /// <summary>
        /// Hands the item's mapped fields to <paramref name="fields"/>, in mapping order. For a field with several
        /// sources, the first source that <see cref="BentoFields.Add(JsonEncodedText, object?)"/> accepts wins.
        /// </summary>
        void AddFields(in TItem item, ref BentoFields fields);

        /// <summary>
        /// Hands every detail of the item to <paramref name="details"/>, in the item's order. May be called more than
        /// once per event (a <c>$purchase</c> or a <c>$tag</c> is first looked for, then written).
        /// </summary>
        void AddDetails(in TItem item, ref BentoDetails<TValue> details);
    }

    /// <summary>How a front end's values are written and read: the values of <c>details</c>, a purchase, a tag.</summary>
    /// <typeparam name="TValue">How the front end holds a value.</typeparam>
    internal interface IBentoValues<TValue>
    {
        /// <summary>
        /// Writes a value at <paramref name="depth"/> (a detail is at depth 1). Values nested below the cap must go
        /// through <see cref="BentoJson.TryWriteTooDeep"/>, the one depth rule.
        /// </summary>
        void WriteValue(Utf8JsonWriter writer, TValue value, int depth);

        /// <summary>The value as a string, when it is one (a tag).</summary>
        bool TryGetText(TValue value, out string text);

        /// <summary>
        /// Reads a purchase's members into <paramref name="purchase"/> (a <see cref="BentoPurchase"/>, an object or
        /// dictionary with <c>Key</c>, <c>Amount</c>, <c>Currency</c>, <c>Cart</c>); false when the value is not one.
        /// Validation is the writer's.
        /// </summary>
        bool TryReadPurchase(TValue value, ref BentoPurchaseParts<TValue> purchase);
    }

    /// <summary>
    /// The one place where a Bento event's JSON is written, for every front end: <c>type</c>, <c>email</c>,
    /// <c>date</c> (UTC, milliseconds), then <c>fields</c> and <c>details</c>, each opened only when it has a member;
    /// and Bento's built-in types: <c>$unsubscribe</c> carries type, email and date only; <c>$purchase</c> maps the
    /// <c>Purchase</c> detail to <c>details.unique.key</c>, <c>details.value.{currency, amount}</c> and
    /// <c>details.cart</c> (then the other details), and is invalid without a valid one; <c>$tag</c> and
    /// <c>$remove_tag</c> carry only <c>details.tag</c>, from the <c>Tag</c> detail. <c>Purchase</c> and <c>Tag</c>
    /// are found ignoring case.
    /// </summary>
    /// <remarks>
    /// Called on a pipeline's reader loop, one event at a time (its name cache is not thread-safe). Allocation-free:
    /// the front end hands its pairs to <see cref="BentoFields"/> and <see cref="BentoDetails{TValue}"/>, which write
    /// straight to the <see cref="Utf8JsonWriter"/>.
    /// </remarks>
    internal sealed class BentoEventWriter
    {
        /// <summary>The depth of a detail's value: <c>details</c> itself is the first level below the event.</summary>
        internal const int DetailDepth = 1;

        /// <summary>The depth of a purchase's cart, inside <c>details</c>.</summary>
        internal const int CartDepth = 2;

        /// <summary>Pre-encoded names of fields and details (and of the front end's nested members), for this reader loop.</summary>
        public BentoJson.NameCache Names { get; } = new BentoJson.NameCache();

        /// <summary>
        /// Writes one event object. Returns false with a reason free of event data when the item cannot be a valid
        /// Bento event (an invalid purchase, a tag event without a tag); what was written is then discarded by the pipeline.
        /// </summary>
        public bool TryWrite<TItem, TValue>(Utf8JsonWriter writer, IBentoEventSource<TItem, TValue> source, IBentoValues<TValue> values,
            in TItem item, string type, string email, DateTimeOffset date, out string? invalidReason)
        {
            invalidReason = null;
            writer.WriteStartObject();
            writer.WritePropertyName(BentoJson.Type);
            BentoJson.WriteSafeString(writer, type);
            writer.WritePropertyName(BentoJson.Email);
            BentoJson.WriteSafeString(writer, email);
            BentoJson.WriteDate(writer, BentoJson.Date, date);

            if (type == BuiltInEvents.Unsubscribe)
            {
                writer.WriteEndObject();
                return true;
            }

            var fields = new BentoFields(writer, Names);
            source.AddFields(in item, ref fields);
            fields.Close();

            if (type == BuiltInEvents.Purchase)
            {
                if (!TryWritePurchase(writer, source, values, in item)) { invalidReason = BuiltInEvents.InvalidPurchase; return false; }
            }
            else if (BuiltInEvents.IsTagType(type))
            {
                if (!TryWriteTag(writer, source, values, in item)) { invalidReason = type == BuiltInEvents.Tag ? BuiltInEvents.InvalidTag : BuiltInEvents.InvalidRemoveTag; return false; }
            }
            else
            {
                var details = BentoDetails<TValue>.Writing(writer, Names, values, skip: null);
                source.AddDetails(in item, ref details);
                details.Close();
            }
            writer.WriteEndObject();
            return true;
        }

        private bool TryWritePurchase<TItem, TValue>(Utf8JsonWriter writer, IBentoEventSource<TItem, TValue> source, IBentoValues<TValue> values, in TItem item)
        {
            var find = BentoDetails<TValue>.Finding(BuiltInEvents.PurchaseDetail);
            source.AddDetails(in item, ref find);
            var purchase = default(BentoPurchaseParts<TValue>);
            if (!find.Found || !values.TryReadPurchase(find.Value, ref purchase) || !purchase.IsValid) return false;

            var details = BentoDetails<TValue>.Writing(writer, Names, values, skip: BuiltInEvents.PurchaseDetail);
            details.Open();
            BuiltInEvents.WritePurchaseMembers(writer, purchase.Key!, purchase.Amount, purchase.Currency!);
            if (purchase.HasCart)
            {
                writer.WritePropertyName(BuiltInEvents.CartName);
                values.WriteValue(writer, purchase.Cart, CartDepth);
            }
            source.AddDetails(in item, ref details); // the other details, after the purchase's own members
            details.Close();
            return true;
        }

        private static bool TryWriteTag<TItem, TValue>(Utf8JsonWriter writer, IBentoEventSource<TItem, TValue> source, IBentoValues<TValue> values, in TItem item)
        {
            var find = BentoDetails<TValue>.Finding(BuiltInEvents.TagDetail);
            source.AddDetails(in item, ref find);
            if (!find.Found || !values.TryGetText(find.Value, out var tag) || tag.Length == 0) return false;
            writer.WritePropertyName(BentoJson.Details);
            writer.WriteStartObject();
            writer.WritePropertyName(BuiltInEvents.TagName);
            BentoJson.WriteSafeString(writer, tag);
            writer.WriteEndObject();
            return true;
        }
    }

    /// <summary>
    /// Receives an event's fields. Fields are flat: a value is written only when it is a scalar (string, number,
    /// boolean, date, enum, …); null and anything else are left out, so a missing name never blanks a subscriber's
    /// profile. The <c>fields</c> object is opened at the first field written.
    /// </summary>
    internal ref struct BentoFields
    {
        private readonly Utf8JsonWriter _writer;
        private readonly BentoJson.NameCache _names;
        private bool _open;

        internal BentoFields(Utf8JsonWriter writer, BentoJson.NameCache names)
        {
            _writer = writer;
            _names = names;
            _open = false;
        }

        /// <summary>Writes the field when <paramref name="value"/> is a scalar; returns whether it was written.</summary>
        public bool Add(JsonEncodedText name, object? value)
        {
            if (!BentoJson.IsScalar(value)) return false;
            Open();
            _writer.WritePropertyName(name);
            BentoJson.TryWriteScalar(_writer, value);
            return true;
        }

        /// <summary>Writes the field when <paramref name="value"/> is a scalar; returns whether it was written.</summary>
        public bool Add(string name, object? value)
        {
            if (!BentoJson.IsScalar(value)) return false;
            Open();
            _names.WritePropertyName(_writer, name);
            BentoJson.TryWriteScalar(_writer, value);
            return true;
        }

        private void Open()
        {
            if (_open) return;
            _writer.WritePropertyName(BentoJson.Fields);
            _writer.WriteStartObject();
            _open = true;
        }

        internal void Close()
        {
            if (_open) _writer.WriteEndObject();
        }
    }

    /// <summary>
    /// Receives an event's details as name/value pairs. Writing: each pair is written at depth 1, the <c>details</c>
    /// object opened at the first one; the special detail of a built-in type (<c>Purchase</c>) is skipped. Finding: the
    /// first pair named like the special detail (ignoring case) is kept and nothing is written.
    /// </summary>
    internal ref struct BentoDetails<TValue>
    {
        private readonly Utf8JsonWriter? _writer; // null: finding
        private readonly BentoJson.NameCache? _names;
        private readonly IBentoValues<TValue>? _values;
        private readonly string? _special;
        private bool _open;
        private bool _found;
        private TValue _value;

        private BentoDetails(Utf8JsonWriter? writer, BentoJson.NameCache? names, IBentoValues<TValue>? values, string? special)
        {
            _writer = writer;
            _names = names;
            _values = values;
            _special = special;
            _open = false;
            _found = false;
            _value = default!;
        }

        internal static BentoDetails<TValue> Writing(Utf8JsonWriter writer, BentoJson.NameCache names, IBentoValues<TValue> values, string? skip)
            => new BentoDetails<TValue>(writer, names, values, skip);

        internal static BentoDetails<TValue> Finding(string name) => new BentoDetails<TValue>(null, null, null, name);

        internal bool Found => _found;

        internal TValue Value => _value;

        /// <summary>A detail: written (writing), or kept when it is the one looked for (finding).</summary>
        public void Add(string name, TValue value)
        {
            if (_special != null && name.Equals(_special, StringComparison.OrdinalIgnoreCase))
            {
                if (_writer is null && !_found)
                {
                    _found = true;
                    _value = value;
                }
                return;
            }
            if (_writer is null) return;
            Open();
            _names!.WritePropertyName(_writer, name);
            _values!.WriteValue(_writer, value, BentoEventWriter.DetailDepth);
        }

        /// <summary>A text detail of the front end's own (<c>trace_id</c>, <c>span_id</c>), written as a string.</summary>
        public void Add(JsonEncodedText name, ReadOnlySpan<char> text)
        {
            if (_writer is null) return;
            Open();
            _writer.WritePropertyName(name);
            _writer.WriteStringValue(text);
        }

        internal void Open()
        {
            if (_open || _writer is null) return;
            _writer.WritePropertyName(BentoJson.Details);
            _writer.WriteStartObject();
            _open = true;
        }

        internal void Close()
        {
            if (_open) _writer!.WriteEndObject();
        }
    }

    /// <summary>
    /// A purchase as a front end reads it, before validation: the key (text), the amount in minor units, the
    /// currency and an optional cart. Valid: a non-empty key, an integer amount of at least 0, three ASCII letters.
    /// </summary>
    internal struct BentoPurchaseParts<TValue>
    {
        private bool _hasAmount;

        public string? Key { get; private set; }
        public long Amount { get; private set; }
        public string? Currency { get; private set; }
        public bool HasCart { get; private set; }
        public TValue Cart { get; private set; }

        public bool IsValid => !string.IsNullOrEmpty(Key) && _hasAmount && Amount >= 0 && BuiltInEvents.IsCurrency(Currency);

        /// <summary>The key: a string, or another scalar (an order number) in invariant form.</summary>
        public void SetKey(object? key) => Key = BuiltInEvents.KeyText(key);

        public void SetAmount(long minorUnits)
        {
            Amount = minorUnits;
            _hasAmount = true;
        }

        /// <summary>The amount from any number: valid only when it is an integer of at least 0.</summary>
        public void SetAmount(object? value)
        {
            _hasAmount = BuiltInEvents.TryGetMinorUnits(value, out var minor);
            Amount = minor;
        }

        public void SetCurrency(object? currency) => Currency = currency as string;

        /// <summary>The cart, written as <c>details.cart</c>; a null one is left out.</summary>
        public void SetCart(TValue cart, bool isNull)
        {
            Cart = cart;
            HasCart = !isNull;
        }
    }
}
