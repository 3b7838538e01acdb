namespace OpenTelemetry.Exporter
{
    /// <summary>The names under which the Bento exporter reports its diagnostics.</summary>
    public static class BentoExporterDiagnostics
    {
        /// <summary>
        /// The name of the exporter's <see cref="System.Diagnostics.Tracing.EventSource"/>. Its <c>OpenTelemetry-</c>
        /// prefix is what the OpenTelemetry SDK's self-diagnostics (an <c>OTEL_DIAGNOSTICS.json</c> file in the working
        /// directory) listens to, so the exporter's warnings and errors land in that log with the SDK's own; any
        /// <c>EventListener</c>, <c>dotnet-trace</c> or <c>dotnet-monitor</c> session can enable it by this name too.
        /// The metrics are on the meter <see cref="BentoSinks.Diagnostics.BentoDiagnosticNames.MeterName"/>.
        /// </summary>
        public const string EventSourceName = "OpenTelemetry-Exporter-Bento";
    }
}
