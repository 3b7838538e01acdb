using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Bento.Emulator
{
    /// <summary>Bento's rules for a batch events body, as <c>shared/bento-api.md</c> states them.</summary>
    public static class BentoValidation
    {
        /// <summary>The most events one request may carry.</summary>
        public const int MaxEvents = 1000;

        /// <summary>Validates a parsed body; on failure returns the message and the index of the first bad event (-1 for the envelope).</summary>
        public static bool TryValidate(JsonElement root, out string error, out int index)
        {
            index = -1;
            if (root.ValueKind != JsonValueKind.Object) { error = "the body must be a JSON object"; return false; }
            if (!root.TryGetProperty("events", out var events) || events.ValueKind != JsonValueKind.Array)
            {
                error = "'events' must be an array";
                return false;
            }
            var count = events.GetArrayLength();
            if (count < 1 || count > MaxEvents) { error = $"'events' must hold 1 to {MaxEvents} events (it holds {count})"; return false; }
            var i = 0;
            foreach (var e in events.EnumerateArray())
            {
                index = i;
                if (!TryValidateEvent(e, out error)) { error = $"event {i}: {error}"; return false; }
                i++;
            }
            index = -1;
            error = "";
            return true;
        }

        private static readonly Regex IsoDate = new Regex(
            @"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$", RegexOptions.CultureInvariant, System.TimeSpan.FromSeconds(1));

        /// <summary>
        /// An email as Bento can use one: one <c>@</c> between a non-empty name and a non-empty domain, no spaces or
        /// control characters, at most 254 characters. (Bento's exact rule is not published; this is the emulator's.)
        /// </summary>
        internal static bool IsEmail(string email)
        {
            if (email.Length > 254) return false;
            var at = email.IndexOf('@');
            if (at <= 0 || at != email.LastIndexOf('@') || at == email.Length - 1) return false;
            foreach (var c in email) if (char.IsWhiteSpace(c) || char.IsControl(c)) return false;
            var domain = email.Substring(at + 1);
            return !domain.StartsWith(".", System.StringComparison.Ordinal) && !domain.EndsWith(".", System.StringComparison.Ordinal) && !domain.Contains("..");
        }

        /// <summary>An ISO 8601 date, or date and time (with an optional offset), that names a real instant.</summary>
        internal static bool IsIsoDate(string date)
            => IsoDate.IsMatch(date) && System.DateTimeOffset.TryParse(date, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _);

        /// <summary>Validates one event object.</summary>
        public static bool TryValidateEvent(JsonElement e, out string error)
        {
            error = "";
            if (e.ValueKind != JsonValueKind.Object) { error = "an event must be an object"; return false; }
            if (!e.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(type.GetString()))
            { error = "'type' must be a non-empty string"; return false; }
            if (!e.TryGetProperty("email", out var email) || email.ValueKind != JsonValueKind.String || !IsEmail(email.GetString()!))
            { error = "'email' must be a string holding an email (name@domain)"; return false; }
            if (e.TryGetProperty("date", out var date) && (date.ValueKind != JsonValueKind.String || !IsIsoDate(date.GetString()!)))
            { error = "'date' must be an ISO 8601 date and time string (e.g. 2026-11-22T10:00:00.000Z)"; return false; }
            if (e.TryGetProperty("fields", out var fields))
            {
                if (fields.ValueKind != JsonValueKind.Object) { error = "'fields' must be an object"; return false; }
                foreach (var f in fields.EnumerateObject())
                {
                    if (f.Value.ValueKind == JsonValueKind.Object || f.Value.ValueKind == JsonValueKind.Array)
                    { error = "'fields' must be flat"; return false; }
                }
            }
            JsonElement details = default;
            var hasDetails = e.TryGetProperty("details", out details);
            if (hasDetails && details.ValueKind != JsonValueKind.Object) { error = "'details' must be an object"; return false; }
            if (type.GetString() == "$purchase")
            {
                if (!hasDetails) { error = "$purchase needs details"; return false; }
                if (!details.TryGetProperty("unique", out var unique) || unique.ValueKind != JsonValueKind.Object ||
                    !unique.TryGetProperty("key", out var key) || key.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(key.GetString()))
                { error = "$purchase needs details.unique.key"; return false; }
                if (!details.TryGetProperty("value", out var value) || value.ValueKind != JsonValueKind.Object ||
                    !value.TryGetProperty("amount", out var amount) || amount.ValueKind != JsonValueKind.Number ||
                    !value.TryGetProperty("currency", out var currency) || currency.ValueKind != JsonValueKind.String)
                { error = "$purchase needs a numeric details.value.amount and a details.value.currency"; return false; }
            }
            return true;
        }
    }
}
