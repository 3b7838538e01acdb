using System;
using System.Collections.Generic;
using System.Text;
using System.Text.Json;

namespace BentoSinks.Delivery
{
    /// <summary>
    /// What a diagnostic may quote of Bento's answers and of exceptions: error bodies as one line, with values, quoted
    /// text and emails blanked and secrets removed, capped at 200 characters.
    /// </summary>
    internal static class ErrorText
    {
        private const int MaxDetailChars = 200;
        private const int MaxErrorParts = 10;

        /// <summary>
        /// Bento's error body, <c>{"error": "…"}</c>, <c>{"errors": [{"field": "…", "message": "…"}]}</c> (or strings, or a
        /// field → messages map) or <c>{"message": "…"}</c>, as one line free of values and emails (see <see cref="Sanitize"/>),
        /// at most 200 characters; null when the body holds none of these.
        /// </summary>
        internal static string? DescribeErrorBody(byte[] body, params string[] secrets)
        {
            var parts = new List<string>();
            try
            {
                using var doc = JsonDocument.Parse(BentoHttpSender.WithoutBom(body), new JsonDocumentOptions { MaxDepth = 64 });
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object) return null;
                foreach (var property in root.EnumerateObject())
                {
                    if (property.NameEquals("error")) AddError(parts, null, property.Value, secrets);
                    else if (property.NameEquals("message")) AddError(parts, null, property.Value, secrets);
                    else if (property.NameEquals("errors"))
                    {
                        var errors = property.Value;
                        if (errors.ValueKind == JsonValueKind.Array)
                            foreach (var e in errors.EnumerateArray()) AddError(parts, null, e, secrets);
                        else if (errors.ValueKind == JsonValueKind.Object)
                            foreach (var field in errors.EnumerateObject()) AddError(parts, field.Name, field.Value, secrets); // {"email": ["is invalid"]}
                        else AddError(parts, null, errors, secrets);
                    }
                }
            }
            catch (JsonException)
            {
                return null; // not JSON (an HTML error page, a truncated body): the status says it all
            }
            if (parts.Count == 0) return null;
            return Cap(string.Join("; ", parts));
        }

        private static void AddError(List<string> parts, string? field, JsonElement value, string[] secrets)
        {
            if (parts.Count >= MaxErrorParts) return;
            string? message = null;
            switch (value.ValueKind)
            {
                case JsonValueKind.String:
                    message = value.GetString();
                    break;
                case JsonValueKind.Array: // {"email": ["is invalid", "is too long"]}
                    var messages = new List<string>();
                    foreach (var m in value.EnumerateArray())
                        if (m.ValueKind == JsonValueKind.String && messages.Count < MaxErrorParts) messages.Add(m.GetString()!);
                    if (messages.Count > 0) message = string.Join(", ", messages);
                    break;
                case JsonValueKind.Object: // {"field": "…", "message": "…"}
                    if (value.TryGetProperty("field", out var f) && f.ValueKind == JsonValueKind.String) field = f.GetString();
                    if (value.TryGetProperty("message", out var msg) && msg.ValueKind == JsonValueKind.String) message = msg.GetString();
                    else if (value.TryGetProperty("error", out var err) && err.ValueKind == JsonValueKind.String) message = err.GetString();
                    break;
            }
            message = message is null ? "" : Sanitize(message, secrets);
            var name = field is null ? "" : Sanitize(field, secrets);
            if (name.Length > 0 && message.Length > 0) parts.Add(name + ": " + message);
            else if (message.Length > 0) parts.Add(message);
            else if (name.Length > 0) parts.Add(name + ": (no message)");
        }

        /// <summary>
        /// Makes text from a response safe to log: control and format characters go, quoted substrings ('…', "…", `…`,
        /// curly quotes) become <c>[value]</c>, any token holding an '@' becomes <c>[email]</c>, the secrets become
        /// <c>[key]</c>, and runs of white space collapse. Field names and words are kept.
        /// </summary>
        internal static string Sanitize(string text, params string[] secrets)
        {
            if (string.IsNullOrEmpty(text)) return "";
            foreach (var secret in secrets)
                if (secret != null && secret.Length >= 8) text = text.Replace(secret, "[key]");

            var sb = new StringBuilder(text.Length);
            for (var i = 0; i < text.Length; i++)
            {
                var c = text[i];
                var category = char.GetUnicodeCategory(c);
                if (category == System.Globalization.UnicodeCategory.Control ||
                    category == System.Globalization.UnicodeCategory.LineSeparator ||
                    category == System.Globalization.UnicodeCategory.ParagraphSeparator)
                {
                    sb.Append(' ');
                    continue;
                }
                if (category == System.Globalization.UnicodeCategory.Format) continue; // bidi overrides, zero-width characters
                var close = ClosingQuote(c);
                if (close != '\0' && (IsDoubleQuote(c) || i == 0 || !char.IsLetterOrDigit(text[i - 1])))
                {
                    var end = FindClosingQuote(text, i + 1, close, apostropheLike: !IsDoubleQuote(c));
                    if (end < 0 && !IsDoubleQuote(c))
                    {
                        sb.Append(c); // a lone apostrophe-like mark ('90s): nothing quoted
                        continue;
                    }
                    sb.Append("[value]");
                    if (end < 0) break; // an unterminated double quote: whatever follows may be the value
                    i = end;
                    continue;
                }
                sb.Append(c);
            }

            // Emails, and anything that looks like one: the whole white-space-delimited token goes.
            var tokens = sb.ToString().Split(BentoHttpSender.Blanks, StringSplitOptions.RemoveEmptyEntries);
            for (var i = 0; i < tokens.Length; i++)
                if (tokens[i].IndexOf('@') >= 0) tokens[i] = "[email]";
            return string.Join(" ", tokens);
        }

        private static bool IsDoubleQuote(char c) => c == '"' || c == '\u201C';

        private static char ClosingQuote(char c) => c switch
        {
            '"' => '"',
            '\'' => '\'',
            '`' => '`',
            '\u201C' => '\u201D', // “ ”
            '\u2018' => '\u2019', // ‘ ’
            _ => '\0',
        };

        private static int FindClosingQuote(string text, int from, char close, bool apostropheLike)
        {
            for (var j = from; j < text.Length; j++)
            {
                if (text[j] != close) continue;
                // For single quotes, "can't" inside the quoted text is not the end: the closing mark is followed by a non-letter.
                if (!apostropheLike || j + 1 == text.Length || !char.IsLetterOrDigit(text[j + 1])) return j;
            }
            return -1;
        }

        private static string Cap(string text)
        {
            if (text.Length <= MaxDetailChars) return text;
            var cut = MaxDetailChars - 1;
            if (char.IsHighSurrogate(text[cut - 1])) cut--;
            return text.Substring(0, cut) + "\u2026";
        }
    }
}
