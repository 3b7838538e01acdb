namespace BentoSinks.Durable
{
    /// <summary>What the buffer knows about one segment file.</summary>
    internal sealed class SegmentInfo
    {
        public SegmentInfo(long id, string path, bool recovered)
        {
            Id = id;
            Path = path;
            Recovered = recovered;
        }

        public long Id { get; }
        public string Path { get; }

        /// <summary>Left by an earlier process: its records carry no sequence number of this pipeline.</summary>
        public bool Recovered { get; }

        /// <summary>Bytes written and committed (for a recovered segment, the file's length).</summary>
        public long Length { get; set; }

        /// <summary>Where reading starts (the checkpoint's offset in the first segment).</summary>
        public long Start { get; set; }

        /// <summary>Where reading resumes after a failed read (-1: from <see cref="Start"/>).</summary>
        public long Resume { get; set; } = -1;

        /// <summary>The sequence number of its first record (0 for a recovered segment: older than any of this process).</summary>
        public long FirstSequence { get; set; }

        /// <summary>Valid records not read yet.</summary>
        public long Unread { get; set; }

        /// <summary>When its newest record was written, Unix milliseconds (the age limit drops whole segments).</summary>
        public long NewestWritten { get; set; } = long.MinValue;

        /// <summary>No more records will be appended to it.</summary>
        public bool Sealed { get; set; }
    }
}
