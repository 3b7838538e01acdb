using System;
using BenchmarkDotNet.Attributes;
using Bento.Emulator;
using Serilog;
using Serilog.Configuration;
using Serilog.Context;
using Serilog.Core;

namespace BentoSinks.Benchmarks
{
    /// <summary>Suite 1: what a log call costs the application's thread.</summary>
    [MemoryDiagnoser]
    public class SerilogCallerBenchmarks
    {
        private BentoEmulator _emulator = null!;
        private Logger _noSink = null!;
        private Logger _bento = null!;
        private Logger _batching = null!;
        private Logger _seq = null!;
        private ILogger _noSinkAnalytics = null!;
        private ILogger _bentoAnalytics = null!;
        private ILogger _batchingAnalytics = null!;
        private ILogger _seqAnalytics = null!;

        [GlobalSetup]
        public void Setup()
        {
            _emulator = Shared.StartEmulator();
            _noSink = new LoggerConfiguration().Enrich.FromLogContext().CreateLogger();
            _bento = new LoggerConfiguration().Enrich.FromLogContext().WriteTo.Bento(o => Shared.Configure(o, _emulator)).CreateLogger();
            _batching = new LoggerConfiguration().Enrich.FromLogContext()
                .WriteTo.Sink(new NoopBatchedSink(), new BatchingOptions { BatchSizeLimit = 1000, BufferingTimeLimit = TimeSpan.FromSeconds(1), QueueLimit = 100_000 })
                .CreateLogger();
            var seqUrl = _emulator.BaseAddress.ToString().TrimEnd('/');
            _seq = new LoggerConfiguration().Enrich.FromLogContext()
                .WriteTo.Logger(lc => lc.Filter.ByIncludingOnly(e => e.Properties.ContainsKey("AnalyticsEvent")).WriteTo.Seq(seqUrl, queueSizeLimit: 100_000))
                .CreateLogger();
            _noSinkAnalytics = _noSink.ForAnalytics("feature_used");
            _bentoAnalytics = _bento.ForAnalytics("feature_used");
            _batchingAnalytics = _batching.ForAnalytics("feature_used");
            _seqAnalytics = _seq.ForAnalytics("feature_used");
        }

        [GlobalCleanup]
        public void Cleanup()
        {
            Shared.PrintStatus("SerilogCaller");
            _noSink.Dispose();
            _bento.Dispose();
            _batching.Dispose();
            _seq.Dispose();
            _emulator.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        [Benchmark(Baseline = true), BenchmarkCategory("non-analytics")]
        public void NonAnalytics_NoSink() => _noSink.Information("Cache miss for {key} after {elapsed} ms", "user:42", 12);

        [Benchmark, BenchmarkCategory("non-analytics")]
        public void NonAnalytics_Bento() => _bento.Information("Cache miss for {key} after {elapsed} ms", "user:42", 12);

        [Benchmark, BenchmarkCategory("analytics")]
        public void Analytics_NoSink() => Analytics(_noSinkAnalytics);

        [Benchmark, BenchmarkCategory("analytics")]
        public void Analytics_Bento() => Analytics(_bentoAnalytics);

        [Benchmark, BenchmarkCategory("analytics")]
        public void Analytics_Serilog4Batching() => Analytics(_batchingAnalytics);

        [Benchmark, BenchmarkCategory("analytics")]
        public void Analytics_SeqFiltered() => Analytics(_seqAnalytics);

        private static void Analytics(ILogger log)
        {
            // Six properties: the marker (contextual), the email from LogContext, and four from the template.
            using (LogContext.PushProperty("Email", "ada@example.com"))
                log.Information("Used {feature} on {plan} ({seats} seats, trial {trial})", "export", "pro", 3, false);
        }
    }
}
