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
        long Version);
}
