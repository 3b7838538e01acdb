namespace BentoSinks
{
    /// <summary>How the front ends decide that a value can be an event's <c>email</c>.</summary>
    internal static class EmailAddress
    {
        /// <summary>A cheap check that a string looks like an email address: one <c>@</c> with text on both sides and a dot after it.</summary>
        public static bool LooksValid(string? s)
        {
            if (s is null || s.Length < 3 || s.Length > 320) return false;
            var at = s.IndexOf('@');
            if (at <= 0 || at == s.Length - 1 || s.IndexOf('@', at + 1) >= 0) return false;
            for (var i = 0; i < s.Length; i++)
            {
                var c = s[i];
                if (c <= ' ' || c == '\u007f') return false;
            }
            var dot = s.IndexOf('.', at + 1);
            return dot > at + 1 && dot < s.Length - 1;
        }
    }
}
