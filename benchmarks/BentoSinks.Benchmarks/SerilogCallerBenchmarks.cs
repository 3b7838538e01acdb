using System;
using BenchmarkDotNet.Attributes;
using Bento.Emulator;

namespace BentoSinks.Benchmarks
{
    /// <summary>Suite 1: what a log call costs the application's thread.</summary>
    [MemoryDiagnoser]
    public class SerilogCallerBenchmarks
    {
        private BentoEmulator _emulator = null!;
        private CallerLoggers _loggers = null!;

        [GlobalSetup]
        public void Setup()
        {
            _emulator = Shared.StartEmulator();
            _loggers = new CallerLoggers(o => Shared.Configure(o, _emulator), new NoopBatchedSink(), _emulator.BaseAddress.ToString().TrimEnd('/'));
        }

        [GlobalCleanup]
        public void Cleanup()
        {
            Shared.PrintStatus("SerilogCaller");
            _loggers.Dispose();
            _emulator.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        [Benchmark(Baseline = true), BenchmarkCategory("non-analytics")]
        public void NonAnalytics_NoSink() => _loggers.NoSink.Information("Cache miss for {key} after {elapsed} ms", "user:42", 12);

        [Benchmark, BenchmarkCategory("non-analytics")]
        public void NonAnalytics_Bento() => _loggers.Bento.Information("Cache miss for {key} after {elapsed} ms", "user:42", 12);

        [Benchmark, BenchmarkCategory("analytics")]
        public void Analytics_NoSink() => CallerLoggers.Analytics(_loggers.NoSinkAnalytics);

        [Benchmark, BenchmarkCategory("analytics")]
        public void Analytics_Bento() => CallerLoggers.Analytics(_loggers.BentoAnalytics);

        [Benchmark, BenchmarkCategory("analytics")]
        public void Analytics_Serilog4Batching() => CallerLoggers.Analytics(_loggers.BatchingAnalytics);

        [Benchmark, BenchmarkCategory("analytics")]
        public void Analytics_SeqFiltered() => CallerLoggers.Analytics(_loggers.SeqAnalytics);
    }
}
