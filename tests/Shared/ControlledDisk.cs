using System.IO;
using System.Threading;
using BentoSinks.Durable;

namespace BentoSinks.Testing
{
    /// <summary>
    /// The buffer's files, with faults the test turns on and off: reads that fail (EIO), a full disk (writes of segment
    /// data fail with ENOSPC), and what the buffer did (failed reads, lock files opened, writes, looks at the lock file).
    /// </summary>
    internal sealed class ControlledDisk : BufferFileSystem
    {
        private int _failedReads;
        private int _lockOpens;
        private int _lockChecks;
        private int _writes;
        private int _failedWrites;

        private volatile bool _blockReads;
        private volatile bool _full;

        /// <summary>Reads fail (EIO) while set.</summary>
        public bool BlockReads { get => _blockReads; set => _blockReads = value; }

        /// <summary>Writes of segment data fail (ENOSPC) while set.</summary>
        public bool Full { get => _full; set => _full = value; }

        public int FailedReads => Volatile.Read(ref _failedReads);
        public int LockOpens => Volatile.Read(ref _lockOpens);
        public int LockChecks => Volatile.Read(ref _lockChecks);
        public int Writes => Volatile.Read(ref _writes);
        public int FailedWrites => Volatile.Read(ref _failedWrites);

        public override FileStream OpenLock(string path)
        {
            Interlocked.Increment(ref _lockOpens);
            return base.OpenLock(path);
        }

        public override bool Exists(string path)
        {
            if (path.EndsWith(DurableBuffer.LockFileName, System.StringComparison.Ordinal)) Interlocked.Increment(ref _lockChecks);
            return base.Exists(path);
        }

        public override Stream OpenRead(string path)
        {
            if (BlockReads)
            {
                Interlocked.Increment(ref _failedReads);
                throw new IOException("transient read error (EIO)", 5);
            }
            return base.OpenRead(path);
        }

        public override void Write(FileStream stream, byte[] buffer, int count)
        {
            if (Full)
            {
                Interlocked.Increment(ref _failedWrites);
                throw new IOException("No space left on device", 28);
            }
            base.Write(stream, buffer, count);
            Interlocked.Increment(ref _writes);
        }
    }
}
