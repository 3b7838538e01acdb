using System;
using System.IO;
using System.Text.Json;

namespace BentoSinks.Json
{
    /// <summary>
    /// A detail's value already written as JSON, on the application's thread when it logged: a list, a dictionary or an
    /// object the application keeps and changes (a batch job reusing one object from user to user, a cart cleared after
    /// checkout) is sent as it was when the event was written, never as it is when the batch goes, seconds later.
    /// <see cref="BentoJson.WriteValue"/> writes it as it was written.
    /// </summary>
    internal sealed class JsonSnapshot
    {
        /// <summary>Past this many bytes, a thread's scratch buffer is not kept for its next snapshot.</summary>
        private const int KeptBufferBytes = 64 * 1024;

        [ThreadStatic] private static MemoryStream? t_buffer;
        [ThreadStatic] private static Utf8JsonWriter? t_writer;
        [ThreadStatic] private static bool t_inUse;

        private JsonSnapshot(byte[] utf8) => Utf8 = utf8;

        /// <summary>The value's JSON (UTF-8).</summary>
        public byte[] Utf8 { get; }

        /// <summary>
        /// <paramref name="value"/> itself when nothing can change it later (null, a scalar); a <see cref="BentoPurchase"/>
        /// with its cart written now (read as a purchase when sent); else its JSON as <see cref="BentoJson.WriteValue"/>
        /// writes it at <paramref name="depth"/>, now. Runs the application's enumerators and <c>ToString</c>: may throw.
        /// </summary>
        public static object? Of(object? value, int depth)
        {
            if (value is null || value is JsonSnapshot || BentoJson.IsScalar(value)) return value;
            if (value is BentoPurchase purchase)
            {
                // Its key, amount and currency cannot change; its cart (a list the app may clear) is written now.
                var cart = purchase.Cart;
                return cart is null || cart is JsonSnapshot || BentoJson.IsScalar(cart)
                    ? purchase
                    : new BentoPurchase(purchase.Key, purchase.Amount, purchase.Currency, Of(cart, BentoEventWriter.CartDepth));
            }
            // The thread's scratch writer, unless a snapshot is being written on this thread already (reading the value ran
            // the app's code, which logged an event of its own): that one gets its own writer.
            var reentered = t_inUse;
            MemoryStream buffer;
            Utf8JsonWriter writer;
            if (reentered)
            {
                buffer = new MemoryStream(256);
                writer = new Utf8JsonWriter(buffer, BentoJson.WriterOptions);
            }
            else
            {
                buffer = t_buffer ??= new MemoryStream(256);
                buffer.SetLength(0);
                writer = t_writer ??= new Utf8JsonWriter(buffer, BentoJson.WriterOptions);
                writer.Reset(buffer);
                t_inUse = true;
            }
            try
            {
                BentoJson.WriteValue(writer, value, depth);
                writer.Flush();
                return new JsonSnapshot(buffer.ToArray());
            }
            finally
            {
                if (reentered)
                {
                    writer.Dispose();
                }
                else
                {
                    t_inUse = false;
                    if (buffer.Capacity > KeptBufferBytes) { t_buffer = null; t_writer = null; }
                }
            }
        }

        /// <summary>Never the value: it may hold personal data.</summary>
        public override string ToString() => nameof(JsonSnapshot);
    }
}
