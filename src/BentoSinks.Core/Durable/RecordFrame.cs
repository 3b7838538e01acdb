using System;
using System.Buffers.Binary;
using System.IO.Hashing;

namespace BentoSinks.Durable
{
    /// <summary>
    /// How one event is framed in a segment file: a magic number, the payload's length and its CRC-32, then the payload
    /// (the pipeline's sequence number, the time it was written in Unix milliseconds, and the event's JSON). A damaged or
    /// torn record fails its checksum and costs only itself: a reader finds the next record by its magic number.
    /// </summary>
    internal static class RecordFrame
    {
        /// <summary>"Bnt1", little-endian.</summary>
        public const uint Magic = 0x31746E42;

        /// <summary>Magic, length, CRC-32.</summary>
        public const int HeaderLength = 12;

        /// <summary>Sequence number and write time before the JSON.</summary>
        public const int PayloadPrefixLength = 16;

        /// <summary>A length past this is damage, not a record.</summary>
        public const int MaxPayloadLength = 64 * 1024 * 1024;

        /// <summary>The bytes a record of <paramref name="jsonLength"/> takes on disk.</summary>
        public static int FramedLength(int jsonLength) => HeaderLength + PayloadPrefixLength + jsonLength;

        /// <summary>Writes the framed record into <paramref name="destination"/> (exactly <see cref="FramedLength"/> bytes).</summary>
        public static void Write(Span<byte> destination, ReadOnlySpan<byte> json, long sequence, long unixMilliseconds)
        {
            var payload = destination.Slice(HeaderLength, PayloadPrefixLength + json.Length);
            BinaryPrimitives.WriteInt64LittleEndian(payload, sequence);
            BinaryPrimitives.WriteInt64LittleEndian(payload.Slice(8), unixMilliseconds);
            json.CopyTo(payload.Slice(PayloadPrefixLength));
            BinaryPrimitives.WriteUInt32LittleEndian(destination, Magic);
            BinaryPrimitives.WriteInt32LittleEndian(destination.Slice(4), payload.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(destination.Slice(8), Crc32.HashToUInt32(payload));
        }

        /// <summary>Whether <paramref name="header"/> starts with the magic number and a plausible payload length.</summary>
        public static bool TryReadHeader(ReadOnlySpan<byte> header, out int payloadLength, out uint crc)
        {
            payloadLength = BinaryPrimitives.ReadInt32LittleEndian(header.Slice(4));
            crc = BinaryPrimitives.ReadUInt32LittleEndian(header.Slice(8));
            return BinaryPrimitives.ReadUInt32LittleEndian(header) == Magic
                   && payloadLength >= PayloadPrefixLength && payloadLength <= MaxPayloadLength;
        }

        public static bool ChecksumMatches(ReadOnlySpan<byte> payload, uint crc) => Crc32.HashToUInt32(payload) == crc;

        public static long Sequence(ReadOnlySpan<byte> payload) => BinaryPrimitives.ReadInt64LittleEndian(payload);

        public static long WrittenAt(ReadOnlySpan<byte> payload) => BinaryPrimitives.ReadInt64LittleEndian(payload.Slice(8));

        public static ReadOnlySpan<byte> Json(ReadOnlySpan<byte> payload) => payload.Slice(PayloadPrefixLength);
    }
}
