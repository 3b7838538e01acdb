using System;
using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Linq;
using System.Text.Json.Nodes;
using Bento.Emulator;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    internal static class Support
    {
        public static void Configure(BentoExporterOptions o, BentoEmulator emulator)
        {
            o.SiteUuid = BentoEmulatorOptions.DefaultSiteUuid;
            o.PublishableKey = BentoEmulatorOptions.DefaultPublishableKey;
            o.SecretKey = BentoEmulatorOptions.DefaultSecretKey;
            o.Endpoint = emulator.ApiBase;
            o.Period = TimeSpan.FromHours(1); // tests flush explicitly or at shutdown
            o.MaxRequestsPerMinute = 0;
        }

        public static void AssertJsonEqual(string expected, string actual)
            => Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), JsonNode.Parse(actual)), $"expected {expected}\nactual   {actual}");
    }

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
