using System;
using System.Collections.Generic;

namespace BentoSinks.Diagnostics
{
    /// <summary>
    /// The pipelines alive in the process, for <see cref="BentoDeliveryStatus"/>. A pipeline is added when it is built and
    /// removed when it is disposed; the registry holds it weakly, so a pipeline that is never disposed but no longer
    /// referenced does not stay listed (or in memory) because of it.
    /// </summary>
    internal static class PipelineRegistry
    {
        private static readonly object Gate = new object();
        private static readonly List<WeakReference<DeliveryHealth>> Live = new List<WeakReference<DeliveryHealth>>();
        private static int _pruneAt = 16;

        public static void Add(DeliveryHealth health)
        {
            lock (Gate)
            {
                // Entries collected without being disposed are dropped now and then: amortised O(1) per addition.
                if (Live.Count >= _pruneAt)
                {
                    Live.RemoveAll(static w => !w.TryGetTarget(out _));
                    _pruneAt = Math.Max(16, Live.Count * 2);
                }
                Live.Add(new WeakReference<DeliveryHealth>(health));
            }
        }

        public static void Remove(DeliveryHealth health)
        {
            lock (Gate)
            {
                // The most recent pipelines are the likeliest to go first (tests, rebuilt loggers): search from the end.
                for (var i = Live.Count - 1; i >= 0; i--)
                {
                    if (Live[i].TryGetTarget(out var h) && !ReferenceEquals(h, health)) continue;
                    Live.RemoveAt(i);
                    if (h != null) break;
                }
            }
        }

        /// <summary>The live pipelines, oldest first.</summary>
        public static List<DeliveryHealth> Snapshot()
        {
            var list = new List<DeliveryHealth>();
            lock (Gate)
            {
                foreach (var w in Live)
                    if (w.TryGetTarget(out var h)) list.Add(h);
            }
            return list;
        }
    }
}
