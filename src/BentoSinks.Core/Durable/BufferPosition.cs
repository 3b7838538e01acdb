namespace BentoSinks.Durable
{
    /// <summary>A place in the buffer: a segment and an offset in it (just after a record).</summary>
    internal readonly struct BufferPosition
    {
        public BufferPosition(long segment, long offset)
        {
            Segment = segment;
            Offset = offset;
        }

        public long Segment { get; }
        public long Offset { get; }

        /// <summary>No position: a record kept in memory after the disk failed, nothing to acknowledge.</summary>
        public static readonly BufferPosition None = new BufferPosition(-1, 0);

        public bool IsNone => Segment <= 0;
    }
}
