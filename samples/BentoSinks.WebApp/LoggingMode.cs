namespace BentoSinks.WebApp
{
    /// <summary>Which front end delivers the app's log events (<c>Sample:Logs</c> in configuration): each is a README combination.</summary>
    public enum LoggingMode
    {
        /// <summary>Serilog is the logging provider (<c>AddSerilog</c>); <c>WriteTo.Bento</c> delivers log events.</summary>
        Serilog,

        /// <summary>No Serilog: the OpenTelemetry logs exporter delivers <c>ILogger</c> records.</summary>
        OpenTelemetry,

        /// <summary>
        /// <c>AddSerilog(writeToProviders: true)</c> with <c>WriteTo.Bento</c> and the OpenTelemetry logs exporter: the
        /// Serilog sink delivers, the exporter skips what Serilog forwards, each event arrives once.
        /// </summary>
        SerilogAndOpenTelemetry,
    }
}
