using System.Collections.Generic;

namespace Bento.Emulator
{
    /// <summary>The request log's totals and counts, as the page and <c>GET /_emulator/summary</c> show them.</summary>
    internal sealed record LogSummary(
        int Events,
        int Requests,
        int Refused,
        int Evicted,
        int Users,
        IReadOnlyList<KeyValuePair<string, int>> ByType,
        IReadOnlyList<KeyValuePair<string, int>> TopUsers,
        long Version)
    {
        /// <summary>How many distinct types are counted now.</summary>
        public int Types { get; init; }
        /// <summary>Requests let go (with their events) to stay within the limits.</summary>
        public int EvictedRequests { get; init; }
        /// <summary>Types and users whose counts were let go to stay within the byte budget.</summary>
        public int TypesLetGo { get; init; }
        public int UsersLetGo { get; init; }
        /// <summary>What is kept, in bytes (estimated).</summary>
        public long RetainedBytes { get; init; }
    }
}
