using System.Collections.Generic;

namespace BentoSinks.Diagnostics
{
    /// <summary>
    /// A read-only view of the delivery state of every Bento pipeline alive in the process (each Serilog sink, each
    /// OpenTelemetry exporter), for health checks and status pages. It never holds an email, a key or an event body.
    /// </summary>
    public static class BentoDeliveryStatus
    {
        /// <summary>
        /// A snapshot of each pipeline built and not yet disposed, oldest first. Each is read on its own clock (the
        /// pipeline's <see cref="BentoOptions.TimeProvider"/>); the counts of one snapshot are read one after the other
        /// while events keep flowing, so they need not add up exactly.
        /// </summary>
        /// <returns>One status per live pipeline; empty when there is none.</returns>
        public static IReadOnlyList<BentoPipelineStatus> GetPipelines()
        {
            var live = PipelineRegistry.Snapshot();
            var statuses = new BentoPipelineStatus[live.Count];
            for (var i = 0; i < statuses.Length; i++) statuses[i] = live[i].Snapshot();
            return statuses;
        }
    }
}
