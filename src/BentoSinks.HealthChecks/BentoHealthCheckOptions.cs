using System;
using System.Collections.Generic;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace BentoSinks.HealthChecks
{
    /// <summary>Settings of the Bento health check (<c>AddBentoHealthCheck</c>).</summary>
    public sealed class BentoHealthCheckOptions
    {
        /// <summary>The default <see cref="DropWindow"/>: 5 minutes.</summary>
        public static readonly TimeSpan DefaultDropWindow = TimeSpan.FromMinutes(5);

        /// <summary>
        /// How long after an event was dropped (for a reason not in <see cref="IgnoredDropReasons"/>) the check reports
        /// <see cref="HealthStatus.Degraded"/>, measured on the pipeline's clock. Default 5 minutes; zero or more.
        /// </summary>
        public TimeSpan DropWindow { get; set; } = DefaultDropWindow;

        /// <summary>
        /// The drop reasons that do not make the check Degraded: by default <c>no_email</c> (an anonymous user's event is
        /// skipped by design) and <c>excluded</c> (a routing choice). Clear it, or remove one, to count them; add a reason
        /// (e.g. <c>invalid</c>) to ignore it too. They are still counted in the data.
        /// </summary>
        public ICollection<string> IgnoredDropReasons { get; set; } = new HashSet<string>(StringComparer.Ordinal) { "no_email", "excluded" };

        /// <summary>
        /// Which pipelines the check looks at, by name (<c>Serilog</c>, <c>OpenTelemetry traces</c>,
        /// <c>OpenTelemetry logs</c>, numbered <c>Serilog#2</c> when several of one kind are alive); null: all of them.
        /// </summary>
        public Func<string, bool>? PipelineFilter { get; set; }

        /// <summary>
        /// What the check reports when no pipeline (that the filter keeps) is alive: by default
        /// <see cref="HealthStatus.Degraded"/>, because a check registered for Bento that finds no pipeline means events
        /// have nowhere to go (a logger not built yet, or a sink left out of the configuration). ASP.NET Core's health
        /// endpoint still answers 200 for Degraded.
        /// </summary>
        public HealthStatus NoPipelineStatus { get; set; } = HealthStatus.Degraded;
    }
}
