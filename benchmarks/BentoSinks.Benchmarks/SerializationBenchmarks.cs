using System;
using System.Collections.Generic;
using System.IO;
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
        private readonly List<LogEvent> _events = new List<LogEvent>();
        private LogEventFormatter _formatter = null!;
        private PooledBufferWriter _scratch = null!;
        private Utf8JsonWriter _writer = null!;
        private Batch _batch = null!;
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
            _clef = new CompactJsonFormatter();
            _clefOut = new StreamWriter(Stream.Null, new UTF8Encoding(false), 64 * 1024);
        }

        [Benchmark(Baseline = true, OperationsPerInvoke = Events)]
        public void CompactJsonFormatter_Clef()
        {
            foreach (var e in _events) _clef.Format(e, _clefOut);
            _clefOut.Flush();
        }

        [Benchmark(OperationsPerInvoke = Events)]
        public void Bento_RequestBody()
        {
            _batch.Clear();
            foreach (var e in _events)
            {
                _scratch.Clear();
                _writer.Reset(_scratch);
                _formatter.TryWriteEvent(_writer, e, out _);
                _writer.Flush();
                _batch.Add(_scratch.WrittenSpan);
            }
        }

        private sealed class Collector : ILogEventSink
        {
            private readonly List<LogEvent> _into;
            public Collector(List<LogEvent> into) => _into = into;
            public void Emit(LogEvent logEvent) => _into.Add(logEvent);
        }
    }
}
