using System;
using System.IO;
using System.Text.Json;
using BentoSinks.Delivery;
using BentoSinks.Json;

namespace BentoSinks.Durable
{
    /// <summary>
    /// <c>dead-letter.jsonl</c> in the buffer directory: one JSON line per event Bento refused on its own, with the time,
    /// the HTTP status, the reason and the event as it was sent. Bounded: past its limit the file becomes
    /// <c>dead-letter.1.jsonl</c> (replacing the previous one) and a new file starts, so at most twice the limit is kept.
    /// </summary>
    internal sealed class DeadLetterFile : IDisposable
    {
        public const string FileName = "dead-letter.jsonl";
        public const string PreviousFileName = "dead-letter.1.jsonl";

        private readonly BufferFileSystem _files;
        private readonly string _path;
        private readonly string _previous;
        private readonly long _limit;
        private readonly PooledBufferWriter _line = new PooledBufferWriter(1024);
        private long _length = -1;

        public DeadLetterFile(BufferFileSystem files, string directory, long limit)
        {
            _files = files;
            _path = Path.Combine(directory, FileName);
            _previous = Path.Combine(directory, PreviousFileName);
            _limit = Math.Max(4096, limit);
        }

        /// <summary>Appends one refused event. Throws on an I/O failure (the caller reports it).</summary>
        public void Write(ReadOnlySpan<byte> eventJson, int status, string reason, DateTimeOffset now)
        {
            _line.Clear();
            using (var writer = new Utf8JsonWriter(_line, BentoJson.WriterOptions))
            {
                writer.WriteStartObject();
                writer.WriteString("time", now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
                writer.WriteNumber("status", status);
                writer.WriteString("reason", reason);
                writer.WritePropertyName("event");
                writer.WriteRawValue(eventJson, skipInputValidation: true);
                writer.WriteEndObject();
            }
            _line.Write(new[] { (byte)'\n' });
            if (_length < 0) _length = File.Exists(_path) ? _files.Length(_path) : 0;
            if (_length > 0 && _length + _line.WrittenCount > _limit)
            {
                _files.Move(_path, _previous);
                _length = 0;
            }
            _files.Append(_path, _line.RawBuffer, _line.WrittenCount);
            _length += _line.WrittenCount;
            _line.TrimIfLargerThan(64 * 1024);
        }

        public void Dispose() => _line.Dispose();
    }
}
