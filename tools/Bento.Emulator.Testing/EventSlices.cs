using System.Collections.Generic;
using System.Text.Json;

namespace Bento.Emulator
{
    /// <summary>Where each element of a body's top-level <c>events</c> array lies in the body, so events are read from the kept body instead of copied.</summary>
    internal static class EventSlices
    {
        public static List<(int Start, int Length)> Find(byte[] body)
        {
            var found = new List<(int, int)>();
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 256 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return found;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isEvents = reader.ValueTextEquals("events");
                reader.Read();
                if (isEvents && reader.TokenType == JsonTokenType.StartArray)
                {
                    // The last "events" wins, as JsonDocument's lookup reads it.
                    found.Clear();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        var start = (int)reader.TokenStartIndex;
                        reader.Skip();
                        found.Add((start, (int)reader.BytesConsumed - start));
                    }
                }
                else reader.Skip();
            }
            return found;
        }
    }
}
