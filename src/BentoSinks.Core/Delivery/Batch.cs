using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading.Tasks;
using BentoSinks.Json;

namespace BentoSinks.Delivery
{
    /// <summary>
    /// The events of one request, already serialized: each event's bytes stored back to back, so a batch can be
    /// split (400, 413) into requests without serializing anything again.
    /// </summary>
    internal sealed class Batch : IDisposable
    {
        private readonly PooledBufferWriter _bytes = new PooledBufferWriter(64 * 1024);
        private readonly List<(int Offset, int Length)> _events = new List<(int, int)>();
        private readonly byte[] _prefix;
        private static readonly byte[] Suffix = { (byte)']', (byte)'}' };
        private long _eventBytes; // the sum of the events' lengths, kept as they are added: size checks are O(1)

        public Batch(string siteUuid)
        {
            var buffer = new PooledBufferWriter(256);
            using (var writer = new Utf8JsonWriter(buffer, BentoJson.WriterOptions))
            {
                writer.WriteStartObject();
                writer.WriteString("site_uuid", siteUuid);
                writer.WritePropertyName("events");
                writer.WriteStartArray();
                writer.Flush();
            }
            // The writer wrote '{"site_uuid":"…","events":[' (it cannot be left open, so it was flushed mid-way).
            _prefix = buffer.WrittenSpan.ToArray();
            buffer.Dispose();
        }

        public int Count => _events.Count;

        /// <summary>The timestamp (from the pipeline's TimeProvider) when the first event entered the batch.</summary>
        public long FirstEventTimestamp { get; set; }

        /// <summary>The request body size if every event of the batch is sent in one request.</summary>
        public long BodyLength => _prefix.Length + Suffix.Length + Math.Max(0, _events.Count - 1) + _eventBytes;

        /// <summary>The body size of a request holding events [start, start+count) (a split part; linear in count).</summary>
        public long BodyLengthOf(int start, int count)
        {
            if (start == 0 && count == _events.Count) return BodyLength;
            long length = _prefix.Length + Suffix.Length + Math.Max(0, count - 1);
            for (var i = start; i < start + count; i++) length += _events[i].Length;
            return length;
        }

        /// <summary>The request size of a batch holding one event of <paramref name="eventLength"/> bytes.</summary>
        public long SingleEventBodyLength(int eventLength) => _prefix.Length + Suffix.Length + eventLength;

        /// <summary>The body size if an event of <paramref name="eventLength"/> bytes were added.</summary>
        public long BodyLengthWith(int eventLength) => BodyLength + eventLength + (_events.Count > 0 ? 1 : 0);

        public void Add(ReadOnlySpan<byte> eventJson)
        {
            var offset = _bytes.WrittenCount;
            _bytes.Write(eventJson);
            _events.Add((offset, eventJson.Length));
            _eventBytes += eventJson.Length;
        }

        /// <summary>The JSON of event <paramref name="index"/>.</summary>
        public ReadOnlySpan<byte> EventJson(int index)
        {
            var (offset, length) = _events[index];
            return new ReadOnlySpan<byte>(_bytes.RawBuffer, offset, length);
        }

        /// <summary>Empties the batch; its buffer is kept for the next one (see <see cref="ReleaseMemory"/>).</summary>
        public void Clear()
        {
            _bytes.Clear();
            _events.Clear();
            _eventBytes = 0;
        }

        /// <summary>Returns a large buffer to the pool when the pipeline goes idle, so that a burst does not pin megabytes.</summary>
        public void ReleaseMemory()
        {
            if (_events.Count == 0) _bytes.TrimIfLargerThan(IdleBufferBytes);
        }

        /// <summary>The size of the buffer the batch holds now.</summary>
        internal int BufferCapacity => _bytes.Capacity;

        /// <summary>The buffer size kept while idle.</summary>
        public const int IdleBufferBytes = 64 * 1024;

        public HttpContent CreateContent(int start, int count) => new BatchContent(this, start, count);

        public void Dispose() => _bytes.Dispose();

        /// <summary>Streams the request body of events [start, start+count) without building a copy of it.</summary>
        internal sealed class BatchContent : HttpContent
        {
            private readonly Batch _batch;
            private readonly int _start;
            private readonly int _count;
            private volatile bool _abandoned;

            /// <summary>
            /// The request was given up (a handler that ignores cancellation): the batch moves on, so a late read of
            /// this content must not see its buffer again. Checked before every write.
            /// </summary>
            public void Abandon() => _abandoned = true;

            public BatchContent(Batch batch, int start, int count)
            {
                _batch = batch;
                _start = start;
                _count = count;
                Headers.ContentType = new MediaTypeHeaderValue("application/json");
            }

            protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
            {
                ThrowIfAbandoned();
                await stream.WriteAsync(_batch._prefix, 0, _batch._prefix.Length).ConfigureAwait(false);
                for (var i = _start; i < _start + _count; i++)
                {
                    ThrowIfAbandoned();
                    if (i > _start) stream.WriteByte((byte)',');
                    var (offset, length) = _batch._events[i];
                    await stream.WriteAsync(_batch._bytes.RawBuffer, offset, length).ConfigureAwait(false);
                }
                ThrowIfAbandoned();
                await stream.WriteAsync(Suffix, 0, Suffix.Length).ConfigureAwait(false);
            }

            private void ThrowIfAbandoned()
            {
                if (_abandoned) throw new OperationCanceledException("The request was abandoned by the pipeline.");
            }

            protected override bool TryComputeLength(out long length)
            {
                length = _batch.BodyLengthOf(_start, _count);
                return true;
            }
        }
    }
}
