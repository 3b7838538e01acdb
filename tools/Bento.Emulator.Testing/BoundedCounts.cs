using System;
using System.Collections.Generic;
using System.Linq;

namespace Bento.Emulator
{
    /// <summary>
    /// Counts by key (event type, or user) within a byte budget: past it, the keys with the smallest counts are let go
    /// (the half of them below the median) and counted in <see cref="LetGo"/>, so 100,000 one-off types or users cannot
    /// grow without bound. Not thread-safe: the request log's lock guards it.
    /// </summary>
    internal sealed class BoundedCounts
    {
        // A dictionary entry: the string (header, length, UTF-16 characters) and the entry (hash, next, key, value).
        private const int EntryOverhead = 24 + 32 + 24;
        private readonly Dictionary<string, int> _counts;
        // The key instances kept, so that every event of a type (or user) shares one string instead of holding its own.
        private readonly Dictionary<string, string> _keys;

        public BoundedCounts(IEqualityComparer<string> comparer)
        {
            _counts = new Dictionary<string, int>(comparer);
            _keys = new Dictionary<string, string>(comparer);
        }

        /// <summary>What the counts take, estimated from the strings and entries they hold.</summary>
        public long Bytes { get; private set; }

        /// <summary>Keys let go to stay within the budget since the last reset.</summary>
        public int LetGo { get; private set; }

        public int Count => _counts.Count;

        public IEnumerable<KeyValuePair<string, int>> Pairs => _counts;

        /// <summary>Adds one to <paramref name="key"/>'s count; returns the key instance kept (to share it).</summary>
        public string Add(string key)
        {
            ref var count = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_counts, key, out var existed);
            count++;
            if (!existed)
            {
                Bytes += EntryOverhead + 2L * key.Length;
                _keys[key] = key;
                return key;
            }
            return _keys.TryGetValue(key, out var kept) ? kept : key;
        }

        public bool TryGetValue(string key, out int count) => _counts.TryGetValue(key, out count);

        public Dictionary<string, int> Snapshot(IEqualityComparer<string> comparer) => new Dictionary<string, int>(_counts, comparer);

        /// <summary>Lets go of the keys with the smallest counts until the counts take at most <paramref name="budget"/> bytes.</summary>
        public void TrimTo(long budget)
        {
            while (Bytes > budget && _counts.Count > 0)
            {
                var ordered = _counts.Select(p => p.Value).OrderBy(v => v).ToArray();
                var median = ordered[ordered.Length / 2];
                var drop = _counts.Where(p => p.Value <= median).Select(p => p.Key).ToList();
                // All equal: let go of half of them (the first ones met), not all.
                if (drop.Count == _counts.Count) drop = drop.Take(Math.Max(1, drop.Count / 2)).ToList();
                foreach (var key in drop)
                {
                    _counts.Remove(key);
                    _keys.Remove(key);
                    Bytes -= EntryOverhead + 2L * key.Length;
                    LetGo++;
                }
            }
        }

        public void Clear()
        {
            _counts.Clear();
            _keys.Clear();
            Bytes = 0;
            LetGo = 0;
        }
    }
}
