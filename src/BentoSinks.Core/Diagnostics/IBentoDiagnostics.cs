namespace BentoSinks.Diagnostics
{
    /// <summary>
    /// Where a pipeline reports its problems: the Serilog sink maps it to <c>SelfLog</c>, the OpenTelemetry
    /// exporter to its <c>EventSource</c>. Messages never hold a secret, an Authorization value, an email or an event body.
    /// </summary>
    internal interface IBentoDiagnostics
    {
        void Warning(string message);

        void Error(string message);
    }
}
