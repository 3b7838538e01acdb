using System.Diagnostics.Tracing;
using BentoSinks.Diagnostics;

namespace OpenTelemetry.Exporter.Bento
{
    /// <summary>The exporter's diagnostics, as OpenTelemetry components report them: an <see cref="EventSource"/> named <c>OpenTelemetry-Exporter-Bento</c>.</summary>
    [EventSource(Name = "OpenTelemetry-Exporter-Bento")]
    internal sealed class BentoExporterEventSource : EventSource, IBentoDiagnostics
    {
        public static readonly BentoExporterEventSource Log = new BentoExporterEventSource();

        void IBentoDiagnostics.Warning(string message) => Warning(message);

        void IBentoDiagnostics.Error(string message) => Error(message);

        [Event(1, Message = "{0}", Level = EventLevel.Warning)]
        public void Warning(string message)
        {
            if (IsEnabled(EventLevel.Warning, EventKeywords.All)) WriteEvent(1, message);
        }

        [Event(2, Message = "{0}", Level = EventLevel.Error)]
        public void Error(string message)
        {
            if (IsEnabled(EventLevel.Error, EventKeywords.All)) WriteEvent(2, message);
        }
    }
}
