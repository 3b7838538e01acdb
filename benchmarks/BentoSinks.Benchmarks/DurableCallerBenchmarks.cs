using System;
using System.IO;
using BenchmarkDotNet.Attributes;
using Bento.Emulator;
using Serilog;
using Serilog.Context;
using Serilog.Core;

namespace BentoSinks.Benchmarks
{
    /// <summary>Suite 5a: what an analytics log call costs the application's thread with the durable buffer, against memory only.</summary>
    [MemoryDiagnoser]
    public class DurableCallerBenchmarks
    {
        private BentoEmulator _emulator = null!;
        private Logger _memory = null!;
        private Logger _durable = null!;
        private ILogger _memoryAnalytics = null!;
        private ILogger _durableAnalytics = null!;
        private string _directory = null!;

        [GlobalSetup]
        public void Setup()
        {
            _emulator = Shared.StartEmulator();
            _directory = Path.Combine(Path.GetTempPath(), "bento-bench-" + Guid.NewGuid().ToString("N"));
            _memory = new LoggerConfiguration().Enrich.FromLogContext().WriteTo.Bento(o => Shared.Configure(o, _emulator)).CreateLogger();
            _durable = new LoggerConfiguration().Enrich.FromLogContext()
                .WriteTo.Bento(o => { Shared.Configure(o, _emulator); o.BufferDirectory = _directory; }).CreateLogger();
            _memoryAnalytics = _memory.ForAnalytics("feature_used");
            _durableAnalytics = _durable.ForAnalytics("feature_used");
        }

        [GlobalCleanup]
        public void Cleanup()
        {
            Shared.PrintStatus("DurableCaller");
            _memory.Dispose();
            _durable.Dispose();
            _emulator.DisposeAsync().AsTask().GetAwaiter().GetResult();
            if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
        }

        [Benchmark(Baseline = true)]
        public void Analytics_Bento_Memory() => Analytics(_memoryAnalytics);

        [Benchmark]
        public void Analytics_Bento_Durable() => Analytics(_durableAnalytics);

        private static void Analytics(ILogger log)
        {
            using (LogContext.PushProperty("Email", "ada@example.com"))
                log.Information("Used {feature} on {plan} ({seats} seats, trial {trial})", "export", "pro", 3, false);
        }
    }
}
