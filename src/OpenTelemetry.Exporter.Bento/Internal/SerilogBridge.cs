using OpenTelemetry.Logs;

namespace OpenTelemetry.Exporter.Bento
{
    /// <summary>
    /// Recognises a log record that Serilog forwarded to Microsoft.Extensions.Logging providers
    /// (<c>AddSerilog(writeToProviders: true)</c>, <c>WriteTo.Providers(...)</c>): Serilog.Extensions.Logging logs it with
    /// its own state type, which OpenTelemetry keeps as the record's attributes. By name: the exporter does not depend on Serilog.
    /// </summary>
    internal static class SerilogBridge
    {
        private const string StateTypeName = "Serilog.Extensions.Logging.SerilogLogValues";

        public static bool Forwarded(LogRecord record)
        {
            var attributes = record.Attributes;
            return attributes != null && attributes.GetType().FullName == StateTypeName;
        }
    }
}
