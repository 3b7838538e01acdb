namespace BentoSinks
{
    /// <summary>
    /// Registered as a service by the OpenTelemetry logs exporter (<c>AddBentoExporter</c> on a logger provider builder), so
    /// a startup check (<c>UseBentoIdentity</c>) can tell that log records are expected to reach Bento through
    /// OpenTelemetry, and warn when the logging setup sends them nowhere.
    /// </summary>
    internal sealed class LogsExporterMarker
    {
    }
}
