using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Threading;

namespace BentoSinks.Diagnostics
{
    /// <summary>
    /// The pipeline's instruments, on a <see cref="Meter"/> named <c>BentoSinks.Core</c>: events sent, events dropped by
    /// reason, requests by outcome, retries, batch send duration and queue depth.
    /// </summary>
    internal sealed class BentoMetrics : IDisposable
    {
        public const string MeterName = BentoDiagnosticNames.MeterName;

        private static readonly KeyValuePair<string, object?>[][] ReasonTags = CreateReasonTags();

        // A MeterListener's callback runs inside Add/Record: whatever it throws must reach neither the application
        // (TryEnqueue never throws) nor the loop (a throw after a batch settled must not make it resend the batch).
        private readonly Meter _meter;
        private readonly Counter<long> _sent;
        private readonly Counter<long> _dropped;
        private readonly Counter<long> _retries;
        private readonly Counter<long> _requests;
        private readonly Histogram<double> _sendDuration;
        private readonly KeyValuePair<string, object?> _pipelineTag;

        private static readonly Dictionary<string, HashSet<int>> LiveInstances = new Dictionary<string, HashSet<int>>(StringComparer.Ordinal);

        private readonly string _pipelineName;
        private readonly int _instance;
        private int _disposed;

        public BentoMetrics(string pipelineName, Func<long> queueDepth)
        {
            _pipelineName = pipelineName;
            _instance = Acquire(pipelineName);
            PipelineTag = _instance == 1 ? pipelineName : pipelineName + "#" + _instance.ToString(CultureInfo.InvariantCulture);
            _meter = new Meter(MeterName, typeof(BentoMetrics).Assembly.GetName().Version?.ToString());
            _pipelineTag = new KeyValuePair<string, object?>(BentoDiagnosticNames.PipelineTagName, PipelineTag);
            _sent = _meter.CreateCounter<long>("bento.events.sent", "{event}", "Events Bento accepted.");
            _dropped = _meter.CreateCounter<long>("bento.events.dropped", "{event}", "Events not delivered, by reason.");
            _retries = _meter.CreateCounter<long>("bento.requests.retries", "{request}", "Requests retried after 429, 5xx, a timeout or a network failure.");
            _requests = _meter.CreateCounter<long>("bento.requests", "{request}", "Requests sent to Bento, by HTTP status (0 when no response arrived).");
            _sendDuration = _meter.CreateHistogram<double>("bento.batch.send.duration", "s", "Time to deliver one batch, retries included.");
            var tag = _pipelineTag;
            _meter.CreateObservableGauge("bento.queue.depth", () => new Measurement<long>(queueDepth(), tag), "{event}", "Events accepted and not yet delivered or dropped.");
        }

        // A MeterListener's callback runs inside these calls: whatever it throws must reach neither the application
        // (TryEnqueue never throws) nor the loop (a throw after a batch settled would resend it).
        public void Sent(long n)
        {
            if (n <= 0) return;
            try { _sent.Add(n, _pipelineTag); }
            catch { /* a listener's failure is its own */ }
        }

        public void Dropped(DropReason reason, long n)
        {
            if (n <= 0) return;
            try { _dropped.Add(n, _pipelineTag, ReasonTags[(int)reason][0]); }
            catch { /* a listener's failure is its own */ }
        }

        public void Retry()
        {
            try { _retries.Add(1, _pipelineTag); }
            catch { /* a listener's failure is its own */ }
        }

        public void Request(int status)
        {
            try { _requests.Add(1, _pipelineTag, new KeyValuePair<string, object?>("http.response.status_code", status)); }
            catch { /* a listener's failure is its own */ }
        }

        public void BatchSent(TimeSpan duration)
        {
            try { _sendDuration.Record(duration.TotalSeconds, _pipelineTag); }
            catch { /* a listener's failure is its own */ }
        }

        /// <summary>
        /// The <c>bento.pipeline</c> tag: the pipeline's name, unique among the live pipelines of the process so that two
        /// of one kind (two Serilog loggers) report separate series: <c>Serilog</c>, then <c>Serilog#2</c>, and so on. A
        /// disposed pipeline's number is given to the next one, so an app that rebuilds its logger keeps its series.
        /// </summary>
        public string PipelineTag { get; }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            _meter.Dispose();
            Release(_pipelineName, _instance);
        }

        /// <summary>The lowest number no live pipeline of this name holds, from 1.</summary>
        private static int Acquire(string pipelineName)
        {
            lock (LiveInstances)
            {
                if (!LiveInstances.TryGetValue(pipelineName, out var live)) LiveInstances[pipelineName] = live = new HashSet<int>();
                var n = 1;
                while (live.Contains(n)) n++;
                live.Add(n);
                return n;
            }
        }

        private static void Release(string pipelineName, int instance)
        {
            lock (LiveInstances)
            {
                if (!LiveInstances.TryGetValue(pipelineName, out var live)) return;
                live.Remove(instance);
                if (live.Count == 0) LiveInstances.Remove(pipelineName);
            }
        }

        private static KeyValuePair<string, object?>[][] CreateReasonTags()
        {
            var tags = new KeyValuePair<string, object?>[DropReasons.Count][];
            for (var i = 0; i < tags.Length; i++)
                tags[i] = new[] { new KeyValuePair<string, object?>("reason", ((DropReason)i).Name()) };
            return tags;
        }
    }
}
