using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using BentoSinks;

namespace OpenTelemetry.Exporter.Bento
{
    /// <summary>The Bento pipelines built by one service provider (a host's exporters), for <see cref="HostStopFlush"/>.</summary>
    internal sealed class HostPipelines
    {
        private readonly List<Entry> _entries = new List<Entry>();

        public void Add(PipelineSettings settings, string account, Func<CancellationToken, Task> flush)
        {
            lock (_entries) _entries.Add(new Entry(settings, account, flush));
        }

        public Entry[] Snapshot()
        {
            lock (_entries) return _entries.ToArray();
        }

        internal sealed class Entry
        {
            public Entry(PipelineSettings settings, string account, Func<CancellationToken, Task> flush)
            {
                Settings = settings;
                Account = account;
                Flush = flush;
            }

            public PipelineSettings Settings { get; }
            public string Account { get; }
            public Func<CancellationToken, Task> Flush { get; }
        }
    }
}
