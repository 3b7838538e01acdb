using System;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Threading;
using Bento.Emulator;

namespace BentoSinks.Testing
{
    /// <summary>Reads a pipeline's accounting the way an app does: from the <c>BentoSinks.Core</c> meter.</summary>
    internal sealed class BentoMeterProbe : IDisposable
    {
        private readonly MeterListener _listener = new MeterListener();
        private readonly string _pipeline;
        private long _sent;
        private long _requests;

        /// <param name="pipeline">The pipeline's kind: <c>Serilog</c>, <c>OpenTelemetry traces</c>, …</param>
        public BentoMeterProbe(string pipeline)
        {
            _pipeline = pipeline;
            _listener.InstrumentPublished = (i, l) => { if (i.Meter.Name == "BentoSinks.Core") l.EnableMeasurementEvents(i); };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                string? reason = null, pipelineName = null;
                foreach (var t in tags)
                {
                    if (t.Key == "reason") reason = (string?)t.Value;
                    if (t.Key == "bento.pipeline") pipelineName = (string?)t.Value;
                }
                // A pipeline's tag is its kind, numbered when several of that kind live at once ("Serilog", "Serilog#2").
                if (pipelineName is null || !(pipelineName == _pipeline || pipelineName.StartsWith(_pipeline + "#", StringComparison.Ordinal))) return;
                if (instrument.Name == "bento.events.sent") Interlocked.Add(ref _sent, value);
                else if (instrument.Name == "bento.requests") Interlocked.Add(ref _requests, value);
                else if (instrument.Name == "bento.events.dropped" && reason != null) Dropped.AddOrUpdate(reason, value, (_, v) => v + value);
            });
            _listener.Start();
        }

        public long Sent => Interlocked.Read(ref _sent);
        /// <summary>Requests whose outcome the pipeline has taken in (recorded after the answer, or the failure).</summary>
        public long Requests => Interlocked.Read(ref _requests);
        public ConcurrentDictionary<string, long> Dropped { get; } = new ConcurrentDictionary<string, long>();
        public long DroppedTotal => Dropped.Values.Sum();
        public long DroppedFor(string reason) => Dropped.TryGetValue(reason, out var n) ? n : 0;

        /// <summary>The client still has to take in an answer: <paramref name="emulator"/> has started more requests than the meter has counted.</summary>
        public Func<bool> Busy(BentoEmulator emulator) => () => Requests < emulator.RequestsStarted;

        public string Describe() => $"sent {Sent}, dropped {DroppedTotal} [{string.Join(", ", Dropped.Select(kv => $"{kv.Key}={kv.Value}"))}]";

        public void Dispose() => _listener.Dispose();
    }
}
