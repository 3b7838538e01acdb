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
    /// pipeline's credentials (401/403), or an answer showed a wrong setting (404/405, a redirect, a refused TLS
    /// certificate), and no request succeeded since: neither heals on its own. Degraded while a pipeline retries a streak
    /// of transient failures, when 2xx answers without Bento's JSON result left events unconfirmed, or when it dropped
    /// events (for a reason not ignored: by default <c>no_email</c> and <c>excluded</c> are) within the drop window.
    /// Healthy otherwise, described as "not verified yet" while Bento has accepted no request of a pipeline. The data holds
    /// counts only, never an email, a key or an event body.
    /// </summary>
    internal sealed class BentoHealthCheck : IHealthCheck
    {
        private readonly TimeSpan _dropWindow;
        private readonly Func<string, bool>? _filter;
        private readonly HealthStatus _noPipelineStatus;
        private readonly HashSet<string> _ignored;

        public BentoHealthCheck(BentoHealthCheckOptions options)
        {
            _ignored = new HashSet<string>(options.IgnoredDropReasons, StringComparer.Ordinal);
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
            var notVerified = new List<string>();
            foreach (var pipeline in BentoDeliveryStatus.GetPipelines())
            {
                if (_filter != null && !_filter(pipeline.Name)) continue;
                names.Add(pipeline.Name);
                AddCounts(data, pipeline);
                var (pipelineStatus, problem) = Assess(pipeline);
                if (pipelineStatus < status) status = pipelineStatus;
                if (problem != null) problems.Append(problems.Length == 0 ? "" : " ").Append(problem);
                else if (!pipeline.IsVerified) notVerified.Add(pipeline.Name);
            }
            data["pipelines"] = names.Count;
            if (names.Count == 0)
                return new HealthCheckResult(_noPipelineStatus, "No Bento pipeline is alive in this process.", data: data);
            var description = problems.Length > 0
                ? problems.ToString()
                : notVerified.Count > 0
                    ? "Not verified yet: Bento has accepted no request of " + string.Join(", ", notVerified)
                        + " since it started (wrong keys or a wrong endpoint show at the first send)."
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
            if (pipeline.WrongSettingSince is { } wrong)
            {
                return (HealthStatus.Unhealthy, pipeline.Name + ": a wrong setting since " + wrong.ToString("u", c) + ": " + pipeline.WrongSetting
                    + ". This will not heal on its own: check the Endpoint (it must be Bento's API base, e.g. https://app.bentonow.com/api/v1) and what sits in front of it.");
            }
            if (pipeline.RetryingSince is { } retrying)
            {
                return (HealthStatus.Degraded, pipeline.Name + ": retrying failed requests (429, 408, 5xx or network) since " + retrying.ToString("u", c)
                    + " (" + pipeline.Retries.ToString(c) + " retries so far).");
            }
            if (!_ignored.Contains("unconfirmed") && pipeline.LastDropTimes.TryGetValue("unconfirmed", out var unconfirmed) && pipeline.Time - unconfirmed <= _dropWindow)
            {
                return (HealthStatus.Degraded, pipeline.Name + ": requests were answered 2xx without Bento's JSON result in the last " + Describe(_dropWindow)
                    + " (last at " + unconfirmed.ToString("u", c) + "): a proxy, a captive portal or a wrong Endpoint may be taking the events; they are counted unconfirmed, not sent.");
            }
            string? lastReason = null;
            DateTimeOffset last = default;
            foreach (var pair in pipeline.LastDropTimes)
            {
                if (_ignored.Contains(pair.Key) || (lastReason != null && pair.Value <= last)) continue;
                lastReason = pair.Key;
                last = pair.Value;
            }
            if (lastReason != null && pipeline.Time - last <= _dropWindow)
            {
                return (HealthStatus.Degraded, pipeline.Name + ": dropped events in the last " + Describe(_dropWindow)
                    + " (last: " + lastReason + " at " + last.ToString("u", c) + ").");
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
