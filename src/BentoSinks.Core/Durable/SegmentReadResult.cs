namespace BentoSinks.Durable
{
    /// <summary>What <see cref="SegmentReader.Next"/> found.</summary>
    internal enum SegmentReadResult
    {
        /// <summary>A record whose checksum matches.</summary>
        Record,
        /// <summary>No more bytes up to the limit.</summary>
        End,
        /// <summary>A damaged or torn region, skipped up to the next valid record (or the limit).</summary>
        Damaged,
    }
}
