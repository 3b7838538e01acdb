using System.Text;

namespace Bento.Emulator
{
    /// <summary>What may reach the terminal: control characters (escape sequences, carriage returns, new lines) written as <c>\uXXXX</c>, so received text cannot forge or recolour lines.</summary>
    internal static class ConsoleText
    {
        public static string Sanitize(string text)
        {
            StringBuilder? sb = null;
            for (var i = 0; i < text.Length; i++)
            {
                var c = text[i];
                var bad = char.IsControl(c) || c == '\u2028' || c == '\u2029' || (c >= '\u202A' && c <= '\u202E') || (c >= '\u2066' && c <= '\u2069');
                if (!bad) { sb?.Append(c); continue; }
                sb ??= new StringBuilder(text, 0, i, text.Length + 16);
                sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            }
            return sb?.ToString() ?? text;
        }
    }
}
