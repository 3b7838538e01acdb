namespace BentoSinks.Diagnostics
{
    /// <summary>
    /// The names under which the Bento pipelines report themselves, for <c>dotnet-counters</c>, an OpenTelemetry
    /// <c>MeterProvider</c> (<c>AddMeter(BentoDiagnosticNames.MeterName)</c>) or a <c>MeterListener</c>.
    /// </summary>
    public static class BentoDiagnosticNames
    {
        /// <summary>
        /// The <see cref="System.Diagnostics.Metrics.Meter"/> of every pipeline: <c>bento.events.sent</c>,
        /// <c>bento.events.dropped</c> (tagged <c>reason</c>), <c>bento.requests</c> (tagged
        /// <c>http.response.status_code</c>), <c>bento.requests.retries</c>, <c>bento.batch.send.duration</c> and
        /// <c>bento.queue.depth</c>, each tagged with <see cref="PipelineTagName"/>.
        /// </summary>
        public const string MeterName = "BentoSinks.Core";

        /// <summary>The tag that names the pipeline on every instrument: <c>Serilog</c>, <c>OpenTelemetry traces</c>, <c>OpenTelemetry logs</c>, numbered (<c>Serilog#2</c>) when several of one kind are alive.</summary>
        public const string PipelineTagName = "bento.pipeline";
    }
}
