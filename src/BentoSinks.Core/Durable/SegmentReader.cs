using System;
using System.IO;

namespace BentoSinks.Durable
{
    /// <summary>
    /// Reads the records of one segment file in order, up to a limit (the length the writer has committed). A record
    /// that fails its checks is skipped as a damaged region, and reading resumes at the next record whose magic number,
    /// length and checksum are valid: damage never blocks the records after it. The records a damaged region held are
    /// counted by the gap in the sequence numbers of the valid records on either side of it (a process numbers the
    /// records it writes one by one); with no valid record before it in this reader, or none after it, it counts one.
    /// </summary>
    internal sealed class SegmentReader : IDisposable
    {
        private readonly Stream _stream;
        private byte[] _buffer = new byte[64 * 1024];
        private long _bufferOffset; // file offset of _buffer[0]
        private int _bufferCount;

        public SegmentReader(Stream stream, long position)
        {
            _stream = stream;
            Position = position;
        }

        /// <summary>The file offset of the next record.</summary>
        public long Position { get; private set; }

        /// <summary>The payload of the last record returned; valid until the next call.</summary>
        public ReadOnlySpan<byte> Payload => _buffer.AsSpan((int)(_payloadOffset - _bufferOffset), _payloadLength);

        private long _payloadOffset;
        private int _payloadLength;
        private long _lastSequence = long.MinValue;

        /// <summary>After <see cref="SegmentReadResult.Damaged"/>: how many records the damaged region held (at least one).</summary>
        public long Lost { get; private set; }

        /// <summary>Reads the next record before <paramref name="limit"/>.</summary>
        public SegmentReadResult Next(long limit)
        {
            if (Position >= limit) return SegmentReadResult.End;
            if (TryRecordAt(Position, limit, out var next))
            {
                Position = next;
                _lastSequence = RecordFrame.Sequence(Payload);
                return SegmentReadResult.Record;
            }
            var damagedFrom = Position;
            // Damage: find the next valid record after it.
            for (var candidate = Position + 1; candidate + RecordFrame.HeaderLength <= limit; candidate++)
            {
                if (!Load(candidate, RecordFrame.HeaderLength)) break;
                var at = (int)(candidate - _bufferOffset);
                // A quick look for the magic number's first byte before the full check.
                if (_buffer[at] != 0x42) continue;
                if (TryRecordAt(candidate, limit, out _))
                {
                    Position = candidate;
                    Lost = Gap(RecordFrame.Sequence(Payload), candidate - damagedFrom);
                    return SegmentReadResult.Damaged;
                }
            }
            Position = limit;
            Lost = 1;
            _lastSequence = long.MinValue;
            return SegmentReadResult.Damaged;
        }

        /// <summary>The records missing between the last valid record and the next one, bounded by what the damaged bytes could hold.</summary>
        private long Gap(long nextSequence, long damagedBytes)
        {
            if (_lastSequence == long.MinValue || nextSequence <= _lastSequence) return 1;
            var most = Math.Max(1, damagedBytes / (RecordFrame.HeaderLength + RecordFrame.PayloadPrefixLength + 2)); // "{}" is the shortest event
            return Math.Max(1, Math.Min(nextSequence - _lastSequence - 1, most));
        }

        private bool TryRecordAt(long offset, long limit, out long next)
        {
            next = offset;
            if (offset + RecordFrame.HeaderLength > limit || !Load(offset, RecordFrame.HeaderLength)) return false;
            if (!RecordFrame.TryReadHeader(_buffer.AsSpan((int)(offset - _bufferOffset), RecordFrame.HeaderLength), out var length, out var crc))
                return false;
            var end = offset + RecordFrame.HeaderLength + length;
            if (end > limit || !Load(offset, RecordFrame.HeaderLength + length)) return false;
            var payloadOffset = offset + RecordFrame.HeaderLength;
            if (!RecordFrame.ChecksumMatches(_buffer.AsSpan((int)(payloadOffset - _bufferOffset), length), crc)) return false;
            _payloadOffset = payloadOffset;
            _payloadLength = length;
            next = end;
            return true;
        }

        /// <summary>Makes the bytes [offset, offset + count) available in the buffer; false when the file is shorter.</summary>
        private bool Load(long offset, int count)
        {
            if (offset >= _bufferOffset && offset + count <= _bufferOffset + _bufferCount) return true;
            if (count > _buffer.Length)
            {
                var size = _buffer.Length;
                while (size < count) size *= 2;
                _buffer = new byte[size];
            }
            _stream.Position = offset;
            _bufferOffset = offset;
            _bufferCount = 0;
            while (_bufferCount < _buffer.Length)
            {
                var n = _stream.Read(_buffer, _bufferCount, _buffer.Length - _bufferCount);
                if (n <= 0) break;
                _bufferCount += n;
            }
            return _bufferCount >= count;
        }

        /// <summary>Gives back a buffer grown by a large record.</summary>
        public void Trim()
        {
            if (_buffer.Length > 64 * 1024)
            {
                _buffer = new byte[64 * 1024];
                _bufferCount = 0;
            }
        }

        public void Dispose() => _stream.Dispose();
    }
}
