using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using BentoSinks.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace BentoSinks.HealthChecks
{
    /// <summary>
    /// Reports the Bento pipelines of the process (<see cref="BentoDeliveryStatus"/>): Unhealthy when Bento refused a
    /// pipeline's credentials (401/403) and no request succeeded since; Degraded while a pipeline retries a streak of
    /// transient failures, or when it dropped events (other than <c>excluded</c>) within the drop window; Healthy
    /// otherwise. The data holds counts only, never an email, a key or an event body.
    /// </summary>
    internal sealed class BentoHealthCheck : IHealthCheck
    {
        private readonly TimeSpan _dropWindow;
        private readonly Func<string, bool>? _filter;
        private readonly HealthStatus _noPipelineStatus;

        public BentoHealthCheck(BentoHealthCheckOptions options)
        {
            _dropWindow = options.DropWindow;
            _filter = options.PipelineFilter;
            _noPipelineStatus = options.NoPipelineStatus;
        }

        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
            => Task.FromResult(Check());

        private HealthCheckResult Check()
        {
            var data = new Dictionary<string, object>(StringComparer.Ordinal);
            var status = HealthStatus.Healthy;
            var problems = new StringBuilder();
            var names = new List<string>();
            foreach (var pipeline in BentoDeliveryStatus.GetPipelines())
            {
                if (_filter != null && !_filter(pipeline.Name)) continue;
                names.Add(pipeline.Name);
                AddCounts(data, pipeline);
                var (pipelineStatus, problem) = Assess(pipeline);
                if (pipelineStatus < status) status = pipelineStatus;
                if (problem != null) problems.Append(problems.Length == 0 ? "" : " ").Append(problem);
            }
            data["pipelines"] = names.Count;
            if (names.Count == 0)
                return new HealthCheckResult(_noPipelineStatus, "No Bento pipeline is alive in this process.", data: data);
            var description = problems.Length > 0
                ? problems.ToString()
                : "Delivering to Bento: " + string.Join(", ", names) + ".";
            return new HealthCheckResult(status, description, data: data);
        }

        private (HealthStatus Status, string? Problem) Assess(BentoPipelineStatus pipeline)
        {
            var c = CultureInfo.InvariantCulture;
            if (pipeline.UnauthorizedSince is { } since)
            {
                return (HealthStatus.Unhealthy, pipeline.Name + ": Bento has refused the credentials (401/403) since " + since.ToString("u", c)
                    + "; check the site UUID, the publishable and secret keys, and that the account is active.");
            }
            if (pipeline.RetryingSince is { } retrying)
            {
                return (HealthStatus.Degraded, pipeline.Name + ": retrying failed requests (429, 408, 5xx or network) since " + retrying.ToString("u", c)
                    + " (" + pipeline.Retries.ToString(c) + " retries so far).");
            }
            if (pipeline.LastDropTime is { } dropped && pipeline.Time - dropped <= _dropWindow)
            {
                return (HealthStatus.Degraded, pipeline.Name + ": dropped events in the last " + Describe(_dropWindow)
                    + " (last: " + pipeline.LastDropReason + " at " + dropped.ToString("u", c) + ").");
            }
            return (HealthStatus.Healthy, null);
        }

        private static void AddCounts(Dictionary<string, object> data, BentoPipelineStatus pipeline)
        {
            var prefix = pipeline.Name + ".";
            data[prefix + "offered"] = pipeline.Offered;
            data[prefix + "sent"] = pipeline.Sent;
            data[prefix + "in_flight"] = pipeline.InFlight;
            data[prefix + "requests"] = pipeline.Requests;
            data[prefix + "retries"] = pipeline.Retries;
            foreach (var pair in pipeline.Dropped) data[prefix + "dropped." + pair.Key] = pair.Value;
        }

        private static string Describe(TimeSpan window)
            => window.TotalMinutes >= 1 && window.Seconds == 0 && window.Milliseconds == 0
                ? window.TotalMinutes.ToString("0", CultureInfo.InvariantCulture) + " min"
                : window.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
    }
}
