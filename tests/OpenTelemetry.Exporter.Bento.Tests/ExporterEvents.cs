using System;
using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Linq;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>Collects the exporter's EventSource messages.</summary>
    internal sealed class ExporterEvents : EventListener
    {
        private readonly ConcurrentQueue<string> _lines = new ConcurrentQueue<string>();

        public string Text => string.Join("\n", _lines);

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "OpenTelemetry-Exporter-Bento") EnableEvents(eventSource, EventLevel.Verbose);
            base.OnEventSourceCreated(eventSource);
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventSource.Name != "OpenTelemetry-Exporter-Bento") return;
            _lines.Enqueue(eventData.Level + " " + string.Join(" ", eventData.Payload?.Select(p => p?.ToString()) ?? Array.Empty<string>()));
        }
    }
}
