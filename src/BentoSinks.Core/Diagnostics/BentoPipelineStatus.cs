using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace BentoSinks.Diagnostics
{
    /// <summary>
    /// The delivery state of one pipeline at one moment (see <see cref="BentoDeliveryStatus.GetPipelines"/>): its counts,
    /// whether Bento refuses its credentials, whether it is retrying, and when it last dropped an event. Counts and
    /// times only: never an email, a key, the Authorization value or an event body, in <see cref="ToString"/> too.
    /// </summary>
    public sealed class BentoPipelineStatus
    {
        internal BentoPipelineStatus(string name, DateTimeOffset time, long offered, long sent, long inFlight, long requests, long retries,
            IReadOnlyDictionary<string, long> dropped, DateTimeOffset? unauthorizedSince, DateTimeOffset? retryingSince,
            DateTimeOffset? lastDropTime, string? lastDropReason, IReadOnlyDictionary<string, DateTimeOffset> lastDropTimes,
            DateTimeOffset? wrongSettingSince, string? wrongSetting, bool isVerified)
        {
            LastDropTimes = lastDropTimes;
            WrongSettingSince = wrongSettingSince;
            WrongSetting = wrongSetting;
            IsVerified = isVerified;
            Name = name;
            Time = time;
            Offered = offered;
            Sent = sent;
            InFlight = inFlight;
            Requests = requests;
            Retries = retries;
            Dropped = dropped;
            long total = 0;
            foreach (var n in dropped.Values) total += n;
            DroppedTotal = total;
            UnauthorizedSince = unauthorizedSince;
            RetryingSince = retryingSince;
            LastDropTime = lastDropTime;
            LastDropReason = lastDropReason;
        }

        /// <summary>
        /// The pipeline's name, as in the metrics' <c>bento.pipeline</c> tag: <c>Serilog</c>, <c>OpenTelemetry traces</c>
        /// or <c>OpenTelemetry logs</c>, numbered (<c>Serilog#2</c>) when several of one kind are alive.
        /// </summary>
        public string Name { get; }

        /// <summary>When the snapshot was taken, on the pipeline's clock (its <see cref="BentoOptions.TimeProvider"/>).</summary>
        public DateTimeOffset Time { get; }

        /// <summary>Analytics events handed to the pipeline, including those dropped before the queue.</summary>
        public long Offered { get; }

        /// <summary>Events Bento accepted.</summary>
        public long Sent { get; }

        /// <summary>Events accepted and neither sent nor dropped yet.</summary>
        public long InFlight { get; }

        /// <summary>Requests sent to Bento, retries and splits included.</summary>
        public long Requests { get; }

        /// <summary>Retries scheduled after a transient failure (429, 408, 5xx, a timeout, a network failure).</summary>
        public long Retries { get; }

        /// <summary>
        /// Events not delivered, by reason (<c>queue_full</c>, <c>no_email</c>, <c>excluded</c>, <c>invalid</c>,
        /// <c>too_large</c>, <c>rejected</c>, <c>retries_exhausted</c>, <c>unauthorized</c>, <c>shutdown</c>); only
        /// reasons with a count.
        /// </summary>
        public IReadOnlyDictionary<string, long> Dropped { get; }

        /// <summary>Events not delivered, all reasons together (<c>excluded</c> included).</summary>
        public long DroppedTotal { get; }

        /// <summary>Whether Bento's last answer about the credentials was 401 or 403 (no request succeeded since).</summary>
        public bool IsUnauthorized => UnauthorizedSince.HasValue;

        /// <summary>When Bento first answered 401 or 403 since the last success; null when it has not.</summary>
        public DateTimeOffset? UnauthorizedSince { get; }

        /// <summary>Whether a streak of transient failures is being retried now.</summary>
        public bool IsRetrying => RetryingSince.HasValue;

        /// <summary>When the current streak of transient failures began; null when none runs.</summary>
        public DateTimeOffset? RetryingSince { get; }

        /// <summary>When an event was last dropped for a reason other than <c>excluded</c> (a choice, not a failure); null when none was.</summary>
        public DateTimeOffset? LastDropTime { get; }

        /// <summary>The reason of the drop at <see cref="LastDropTime"/>; null when none was.</summary>
        public string? LastDropReason { get; }

        /// <summary>When events were last dropped, by reason (<c>excluded</c> included); only reasons that have occurred.</summary>
        public IReadOnlyDictionary<string, DateTimeOffset> LastDropTimes { get; }

        /// <summary>
        /// When an answer first showed a wrong setting (the endpoint answered 404 or 405 or a redirect, or its TLS certificate
        /// was refused) since Bento last accepted a request; null when none did. It will not heal on its own.
        /// </summary>
        public DateTimeOffset? WrongSettingSince { get; }

        /// <summary>What the wrong setting is, in words without a secret, an email or a URL's query; null when there is none.</summary>
        public string? WrongSetting { get; }

        /// <summary>
        /// Whether Bento has accepted a request of this pipeline with its JSON result since the pipeline was built. False
        /// before the first send: the credentials and the endpoint are not verified yet.
        /// </summary>
        public bool IsVerified { get; }

        /// <summary>One line: the name, the counts, and the state; never an email, a key or an event body.</summary>
        /// <returns>The status as text.</returns>
        public override string ToString()
        {
            var sb = new StringBuilder();
            var c = CultureInfo.InvariantCulture;
            sb.Append(Name).Append(": offered=").Append(Offered.ToString(c)).Append(" sent=").Append(Sent.ToString(c))
              .Append(" in_flight=").Append(InFlight.ToString(c)).Append(" requests=").Append(Requests.ToString(c))
              .Append(" retries=").Append(Retries.ToString(c));
            foreach (var pair in Dropped) sb.Append(" dropped.").Append(pair.Key).Append('=').Append(pair.Value.ToString(c));
            if (UnauthorizedSince is { } u) sb.Append("; unauthorized since ").Append(u.ToString("o", c));
            if (RetryingSince is { } r) sb.Append("; retrying since ").Append(r.ToString("o", c));
            if (WrongSettingSince is { } w) sb.Append("; wrong setting since ").Append(w.ToString("o", c)).Append(": ").Append(WrongSetting);
            if (!IsVerified) sb.Append("; not verified yet");
            if (LastDropTime is { } d) sb.Append("; last drop (").Append(LastDropReason).Append(") at ").Append(d.ToString("o", c));
            return sb.ToString();
        }
    }
}
