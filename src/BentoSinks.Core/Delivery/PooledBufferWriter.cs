using System;
using System.Buffers;

namespace BentoSinks.Delivery
{
    /// <summary>A growable byte buffer rented from <see cref="ArrayPool{T}"/>, reused across events.</summary>
    internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
    {
        private byte[] _buffer;
        private int _written;

        public PooledBufferWriter(int initialCapacity = 4096)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(initialCapacity);
        }

        public int WrittenCount => _written;

        public ReadOnlySpan<byte> WrittenSpan => new ReadOnlySpan<byte>(_buffer, 0, _written);

        public ReadOnlyMemory<byte> WrittenMemory => new ReadOnlyMemory<byte>(_buffer, 0, _written);

        public byte[] RawBuffer => _buffer;

        public void Clear() => _written = 0;

        public void Write(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(GetSpan(bytes.Length));
            _written += bytes.Length;
        }

        public void Advance(int count)
        {
            if (count < 0 || _written + count > _buffer.Length) throw new ArgumentOutOfRangeException(nameof(count));
            _written += count;
        }

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            Ensure(sizeHint);
            return _buffer.AsMemory(_written);
        }

        public Span<byte> GetSpan(int sizeHint = 0)
        {
            Ensure(sizeHint);
            return _buffer.AsSpan(_written);
        }

        /// <summary>The size of the buffer currently held.</summary>
        public int Capacity => _buffer.Length;

        /// <summary>
        /// Returns an oversized buffer to the pool so that one huge event does not pin memory. Only an empty writer is
        /// trimmed (call <see cref="Clear"/> first); returns whether it was.
        /// </summary>
        public bool TrimIfLargerThan(int bytes)
        {
            if (_buffer.Length <= bytes || _written != 0) return false;
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(bytes, 4096));
            return true;
        }

        private void Ensure(int sizeHint)
        {
            if (sizeHint < 1) sizeHint = 256;
            if (_buffer.Length - _written >= sizeHint) return;
            var newSize = Math.Max(_buffer.Length * 2, _written + sizeHint);
            var next = ArrayPool<byte>.Shared.Rent(newSize);
            Buffer.BlockCopy(_buffer, 0, next, 0, _written);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = next;
        }

        public void Dispose()
        {
            var b = _buffer;
            _buffer = Array.Empty<byte>();
            _written = 0;
            if (b.Length > 0) ArrayPool<byte>.Shared.Return(b);
        }
    }
}
