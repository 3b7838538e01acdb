using System.Globalization;

namespace BentoSinks
{
    /// <summary>How the front ends (and <see cref="BentoIdentity"/>) decide that a value can be an event's <c>email</c>.</summary>
    internal static class EmailAddress
    {
        /// <summary>
        /// A cheap check that a string looks like an email address: one <c>@</c> with text on both sides and a dot after it,
        /// at most 320 characters, and no character that hides what the address says: no space or control character, no
        /// format character (bidi overrides and isolates such as U+202E, zero-width spaces and joiners, the BOM, the soft
        /// hyphen), no separator, no lone surrogate and no invisible filler (Hangul fillers, the braille blank, the combining
        /// grapheme joiner). An address that reads differently from what it is must never identify anyone.
        /// </summary>
        public static bool LooksValid(string? s)
        {
            if (s is null || s.Length < 3 || s.Length > 320) return false;
            var at = s.IndexOf('@');
            if (at <= 0 || at == s.Length - 1 || s.IndexOf('@', at + 1) >= 0) return false;
            for (var i = 0; i < s.Length; i++)
            {
                var c = s[i];
                if (c < 0x80)
                {
                    if (c <= ' ' || c == '\u007f') return false;
                    continue;
                }
                if (char.IsHighSurrogate(c))
                {
                    if (i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1])) return false;
                    if (IsHidden(CharUnicodeInfo.GetUnicodeCategory(s, i))) return false; // e.g. U+E0001 language tag (Cf)
                    i++;
                    continue;
                }
                if (char.IsLowSurrogate(c) || IsHidden(CharUnicodeInfo.GetUnicodeCategory(c)) || IsInvisibleFiller(c)) return false;
            }
            var dot = s.IndexOf('.', at + 1);
            return dot > at + 1 && dot < s.Length - 1;
        }

        private static bool IsHidden(UnicodeCategory category) => category switch
        {
            UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator
                or UnicodeCategory.ParagraphSeparator or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned => true,
            _ => false,
        };

        // Letters and symbols that render as nothing.
        private static bool IsInvisibleFiller(char c)
            => c == '\u115F' || c == '\u1160' || c == '\u3164' || c == '\uFFA0' || c == '\u2800' || c == '\u034F' || (c >= '\uFE00' && c <= '\uFE0F');
    }
}
