using System.Collections.Generic;

namespace Bento.Emulator
{
    /// <summary>One page of the request log, newest first: its items, the cursor of the next (older) page, and how many items match in all.</summary>
    internal sealed record LogPage<T>(IReadOnlyList<T> Items, long? Next, int Matched);
}
