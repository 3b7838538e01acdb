using BentoSinks;
using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BentoSinks.Delivery;
using BentoSinks.Json;
using Serilog;
using Serilog.Context;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Compact;
using Serilog.Sinks.Bento;

namespace BentoSinks.Benchmarks
{
    /// <summary>Suite 2: 1,000 captured events into one request body, per event.</summary>
    [MemoryDiagnoser]
    public class SerializationBenchmarks
    {
        private const int Events = 1000;
        private const int MaxRequestBytes = BentoOptions.DefaultMaxRequestBytes;
        private readonly List<LogEvent> _events = new List<LogEvent>();
        private LogEventFormatter _formatter = null!;
        private PooledBufferWriter _scratch = null!;
        private Utf8JsonWriter _writer = null!;
        private Batch _batch = null!;
        private List<(int Offset, int Length)> _batchEvents = null!;
        private long _frameBytes;
        private CompactJsonFormatter _clef = null!;
        private StreamWriter _clefOut = null!;

        [GlobalSetup]
        public void Setup()
        {
            var collector = new Collector(_events);
            var log = new LoggerConfiguration().Enrich.FromLogContext().WriteTo.Sink(collector).CreateLogger().ForAnalytics("feature_used");
            using (LogContext.PushProperty("Email", "ada@example.com"))
            using (LogContext.PushProperty("FirstName", "Ada"))
            {
                for (var i = 0; i < Events; i++)
                    log.Information("Used {feature} on {plan} ({seats} seats, trial {trial}) {n}", "export", "pro", 3, false, i);
            }
            _formatter = new LogEventFormatter(new BentoSinkOptions());
            _scratch = new PooledBufferWriter(16 * 1024);
            _writer = new Utf8JsonWriter(_scratch, BentoJson.WriterOptions);
            _batch = new Batch("site-uuid");
            // The old size check summed the batch's per-event lengths; read that same list (a private field) once here.
            _batchEvents = (List<(int Offset, int Length)>)(typeof(Batch).GetField("_events", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(_batch)
                ?? throw new InvalidOperationException("Batch._events not found: update the old size check re-implementation."));
            _frameBytes = _batch.SingleEventBodyLength(0); // '{"site_uuid":"…","events":[' + ']}'
            // The re-implemented old check must give the same sizes as the current one.
            foreach (var e in _events)
            {
                if (!Serialize(e)) throw new InvalidOperationException("An event did not serialize.");
                var length = _scratch.WrittenCount;
                if (OldBodyLengthWith(length) != _batch.BodyLengthWith(length)) throw new InvalidOperationException("The old size check disagrees with Batch.BodyLengthWith.");
                _batch.Add(_scratch.WrittenSpan);
            }
            _batch.Clear();
            _clef = new CompactJsonFormatter();
            _clefOut = new StreamWriter(Stream.Null, new UTF8Encoding(false), 64 * 1024);
        }

        [Benchmark(Baseline = true, OperationsPerInvoke = Events)]
        public void CompactJsonFormatter_Clef()
        {
            foreach (var e in _events) _clef.Format(e, _clefOut);
            _clefOut.Flush();
        }

        /// <summary>
        /// What the pipeline's reader loop (<c>BentoPipeline.Fill</c>, <c>Serialize</c>) does per event: serialize into the
        /// scratch buffer, check the event alone and the batch with it against MaxRequestBytes, add it; then the body is cleared.
        /// </summary>
        [Benchmark(OperationsPerInvoke = Events)]
        public void Bento_RequestBody()
        {
            foreach (var e in _events)
            {
                if (!Serialize(e)) continue;
                var length = _scratch.WrittenCount;
                if (_batch.SingleEventBodyLength(length) > MaxRequestBytes) continue;
                if (_batch.Count > 0 && _batch.BodyLengthWith(length) > MaxRequestBytes) break;
                _batch.Add(_scratch.WrittenSpan);
            }
            _batch.Clear();
        }

        /// <summary>
        /// The same loop with the size check as it was before the batch kept a running total of its event bytes
        /// (<c>Batch.BodyLengthWith</c> called <c>BodyLengthOf(0, Count)</c>, which summed every event already added):
        /// quadratic in the batch size.
        /// </summary>
        [Benchmark(OperationsPerInvoke = Events)]
        public void Bento_RequestBody_OldQuadraticSizeCheck()
        {
            foreach (var e in _events)
            {
                if (!Serialize(e)) continue;
                var length = _scratch.WrittenCount;
                if (_batch.SingleEventBodyLength(length) > MaxRequestBytes) continue;
                if (_batch.Count > 0 && OldBodyLengthWith(length) > MaxRequestBytes) break;
                _batch.Add(_scratch.WrittenSpan);
            }
            _batch.Clear();
        }

        private bool Serialize(LogEvent e)
        {
            _scratch.Clear();
            _writer.Reset(_scratch);
            if (!_formatter.TryWriteEvent(_writer, e, out _)) return false;
            _writer.Flush();
            return _writer.CurrentDepth == 0 && _writer.BytesCommitted > 0;
        }

        // The old Batch.BodyLengthWith / BodyLengthOf, over the batch's own list of (offset, length) per event.
        private long OldBodyLengthWith(int eventLength) => OldBodyLengthOf(0, _batch.Count) + eventLength + (_batch.Count > 0 ? 1 : 0);

        private long OldBodyLengthOf(int start, int count)
        {
            long length = _frameBytes + Math.Max(0, count - 1);
            for (var i = start; i < start + count; i++) length += _batchEvents[i].Length;
            return length;
        }

        private sealed class Collector : ILogEventSink
        {
            private readonly List<LogEvent> _into;
            public Collector(List<LogEvent> into) => _into = into;
            public void Emit(LogEvent logEvent) => _into.Add(logEvent);
        }
    }
}
