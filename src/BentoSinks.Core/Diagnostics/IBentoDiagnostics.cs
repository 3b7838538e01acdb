namespace BentoSinks.Diagnostics
{
    /// <summary>The level of a diagnostic line written to the host's log.</summary>
    internal enum DiagnosticLevel
    {
        Information,
        Warning,
        Error,
    }

    /// <summary>
    /// Where a pipeline reports its problems: the Serilog sink maps it to <c>SelfLog</c>, the OpenTelemetry
    /// exporter to its <c>EventSource</c>. Messages never hold a secret, an Authorization value, an email or an event body.
    /// </summary>
    internal interface IBentoDiagnostics
    {
        /// <summary>Normal operation worth a line (an earlier process's events found and sent first).</summary>
        void Information(string message);

        void Warning(string message);

        void Error(string message);
    }

    /// <summary>
    /// A diagnostics sink that takes the pipeline's reports as typed events (the OpenTelemetry <c>EventSource</c>),
    /// each with its readable line. A sink that is only an <see cref="IBentoDiagnostics"/> gets the lines.
    /// </summary>
    internal interface IBentoDiagnosticEvents : IBentoDiagnostics
    {
        /// <summary><paramref name="count"/> events were dropped for <paramref name="reason"/> (rate-limited: the count since the last report).</summary>
        void EventsDropped(DropReason reason, long count, string message);

        /// <summary>A problem the pipeline reported (rate-limited per kind).</summary>
        void Problem(in BentoProblem problem, string message);
    }
}
