using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Bento.Emulator;
using Serilog;
using Serilog.Context;

namespace BentoSinks.Benchmarks
{
    /// <summary>
    /// Suite 5b: the durable buffer end to end, in one run on one in-process emulator: Serilog → Bento in memory only,
    /// Serilog → Bento through the buffer directory (fsync on), and Serilog.Sinks.Seq's durable mode
    /// (<c>bufferBaseFilename</c>), each timed from the first event until the server has every event; the caller's
    /// time per event while logging; and the disk bytes an event takes.
    /// </summary>
    internal static class DurableThroughput
    {
        public static async Task<int> RunAsync(bool quick)
        {
            var n = quick ? 20_000 : 200_000;
            await using var emulator = await BentoEmulator.StartAsync(new BentoEmulatorOptions { RecordEvents = false });
            var root = Path.Combine(Path.GetTempPath(), "bento-durable-bench-" + Guid.NewGuid().ToString("N"));
            try
            {
                // Warm up every path first.
                await Bento(emulator, n / 4, null);
                await Bento(emulator, n / 4, Path.Combine(root, "warm"));
                await SeqDurable(emulator, n / 4, Path.Combine(root, "seq-warm"));

                var memory = await Bento(emulator, n, null);
                var durable = await Bento(emulator, n, Path.Combine(root, "bento"));
                var seq = await SeqDurable(emulator, n, Path.Combine(root, "seq"));
                var memory2 = await Bento(emulator, n, null);
                var durable2 = await Bento(emulator, n, Path.Combine(root, "bento2"));
                var bytes = DiskBytesPerEvent(Path.Combine(root, "bytes"));

                var output = new Dictionary<string, object>
                {
                    ["events"] = n,
                    ["machine"] = $"{Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}",
                    ["events_per_second"] = new Dictionary<string, double>
                    {
                        ["bento_memory"] = Math.Round(memory.Rate), ["bento_durable"] = Math.Round(durable.Rate),
                        ["bento_memory_2"] = Math.Round(memory2.Rate), ["bento_durable_2"] = Math.Round(durable2.Rate),
                        ["seq_durable"] = Math.Round(seq.Rate),
                    },
                    ["caller_ns_per_event"] = new Dictionary<string, double>
                    {
                        ["bento_memory"] = Math.Round(memory.CallerNs, 1), ["bento_durable"] = Math.Round(durable.CallerNs, 1),
                        ["bento_memory_2"] = Math.Round(memory2.CallerNs, 1), ["bento_durable_2"] = Math.Round(durable2.CallerNs, 1),
                        ["seq_durable"] = Math.Round(seq.CallerNs, 1),
                    },
                    ["ratios"] = new Dictionary<string, double>
                    {
                        ["bento_durable/seq_durable"] = Math.Round(durable.Rate / seq.Rate, 2),
                        ["bento_durable/bento_memory"] = Math.Round(durable.Rate / memory.Rate, 2),
                        ["caller bento_durable/bento_memory"] = Math.Round(durable.CallerNs / memory.CallerNs, 2),
                        ["caller bento_durable_2/bento_memory_2"] = Math.Round(durable2.CallerNs / memory2.CallerNs, 2),
                    },
                    ["disk_bytes_per_event"] = Math.Round(bytes, 1),
                };
                Console.WriteLine(JsonSerializer.Serialize(output));
                return 0;
            }
            finally
            {
                if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
            }
        }

        private readonly struct Result
        {
            public Result(int n, TimeSpan total, TimeSpan caller)
            {
                Rate = n / total.TotalSeconds;
                CallerNs = caller.TotalMilliseconds * 1e6 / n;
            }

            public double Rate { get; }
            public double CallerNs { get; }
        }

        private static TimeSpan Emit(Serilog.ILogger log, int n)
        {
            var sw = Stopwatch.StartNew();
            using (LogContext.PushProperty("Email", "ada@example.com"))
            {
                for (var i = 0; i < n; i++) log.Information("Used {feature} on {plan} ({seats} seats, trial {trial}) {n}", "export", "pro", 3, false, i);
            }
            return sw.Elapsed;
        }

        private static async Task<Result> Bento(BentoEmulator emulator, int n, string? directory)
        {
            var before = emulator.EventCount;
            GC.Collect();
            var sw = Stopwatch.StartNew();
            var logger = new LoggerConfiguration().Enrich.FromLogContext()
                .WriteTo.Bento(o => { Shared.Configure(o, emulator); o.QueueLimit = n; o.BufferDirectory = directory; })
                .CreateLogger();
            var caller = Emit(logger.ForAnalytics("feature_used"), n);
            await logger.DisposeAsync();
            sw.Stop();
            if (emulator.EventCount - before != n) throw new InvalidOperationException($"bento: {emulator.EventCount - before} of {n} arrived");
            return new Result(n, sw.Elapsed, caller);
        }

        private static async Task<Result> SeqDurable(BentoEmulator emulator, int n, string directory)
        {
            Directory.CreateDirectory(directory);
            var before = emulator.SeqEventCount;
            GC.Collect();
            var sw = Stopwatch.StartNew();
            var logger = new LoggerConfiguration().Enrich.FromLogContext()
                .WriteTo.Logger(lc => lc.Filter.ByIncludingOnly(e => e.Properties.ContainsKey("AnalyticsEvent"))
                    .WriteTo.Seq(emulator.BaseAddress.ToString().TrimEnd('/'), batchPostingLimit: 1000, period: TimeSpan.FromMilliseconds(100),
                        bufferBaseFilename: Path.Combine(directory, "buffer")))
                .CreateLogger();
            var caller = Emit(logger.ForAnalytics("feature_used"), n);
            // The durable Seq sink ships from its files on a timer: done when the server has every event.
            var deadline = Stopwatch.StartNew();
            while (emulator.SeqEventCount - before < n)
            {
                if (deadline.Elapsed > TimeSpan.FromMinutes(10)) throw new InvalidOperationException($"seq: {emulator.SeqEventCount - before} of {n} arrived");
                await Task.Delay(5);
            }
            sw.Stop();
            await logger.DisposeAsync();
            return new Result(n, sw.Elapsed, caller);
        }

        /// <summary>The buffer directory's bytes per event, with Bento unreachable (nothing leaves it).</summary>
        private static double DiskBytesPerEvent(string directory)
        {
            const int n = 10_000;
            var logger = new LoggerConfiguration().Enrich.FromLogContext()
                .WriteTo.Bento(o =>
                {
                    Shared.Configure(o, new Uri("http://127.0.0.1:1/api/v1"));
                    o.BufferDirectory = directory;
                    o.ShutdownTimeout = TimeSpan.Zero;
                    o.QueueLimit = n;
                })
                .CreateLogger();
            Emit(logger.ForAnalytics("feature_used"), n);
            logger.Dispose();
            return Directory.GetFiles(directory, "*.bentoseg").Sum(f => new FileInfo(f).Length) / (double)n;
        }
    }
}
