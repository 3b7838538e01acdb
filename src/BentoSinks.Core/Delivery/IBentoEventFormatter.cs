using System.Text.Json;

namespace BentoSinks.Delivery
{
    /// <summary>
    /// Turns one queued item into one Bento event object (<c>{"type":…,"email":…,"date":…,"fields":{…},"details":{…}}</c>).
    /// Called on the pipeline's reader loop, never on the application's thread.
    /// </summary>
    /// <typeparam name="T">What the front end queues: a Serilog <c>LogEvent</c>, a captured activity event, a copied log record.</typeparam>
    internal interface IBentoEventFormatter<T>
    {
        /// <summary>
        /// Writes the event object. Returns false, with a reason free of event data, when the item cannot be a valid
        /// Bento event; it is then dropped alone and counted as <c>invalid</c>. An exception has the same effect.
        /// </summary>
        bool TryWriteEvent(Utf8JsonWriter writer, T item, out string? invalidReason);
    }
}
