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

                // Three interleaved rounds (the machine is shared: report each system's median and range).
                var runs = new Dictionary<string, List<Result>>
                {
                    ["bento_memory"] = new(), ["bento_durable"] = new(), ["seq_durable"] = new(),
                    ["bento_durable_client_only"] = new(), ["seq_durable_client_only"] = new(),
                };
                for (var round = 0; round < 3; round++)
                {
                    runs["bento_memory"].Add(await Bento(emulator, n, null));
                    runs["bento_durable"].Add(await Bento(emulator, n, Path.Combine(root, "bento" + round)));
                    runs["seq_durable"].Add(await SeqDurable(emulator, n, Path.Combine(root, "seq" + round)));
                    // Client side only: a handler that reads each body and answers at once (the server's CPU out of the picture).
                    runs["bento_durable_client_only"].Add(await Bento(emulator, n, Path.Combine(root, "bento-client" + round), new CountingHandler(bento: true)));
                    runs["seq_durable_client_only"].Add(await SeqDurable(emulator, n, Path.Combine(root, "seq-client" + round), new CountingHandler(bento: false)));
                }
                var bytes = DiskBytesPerEvent(Path.Combine(root, "bytes"));
                double Median(string k, Func<Result, double> f) => runs[k].Select(f).OrderBy(x => x).ElementAt(1);
                string Range(string k, Func<Result, double> f) => string.Join(" / ", runs[k].Select(r => Math.Round(f(r)).ToString(System.Globalization.CultureInfo.InvariantCulture)));

                var output = new Dictionary<string, object>
                {
                    ["events"] = n,
                    ["machine"] = $"{Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}",
                    ["events_per_second_runs"] = runs.Keys.ToDictionary(k => k, k => Range(k, r => r.Rate)),
                    ["events_per_second_median"] = runs.Keys.ToDictionary(k => k, k => Math.Round(Median(k, r => r.Rate))),
                    ["caller_ns_per_event_runs"] = runs.Keys.ToDictionary(k => k, k => Range(k, r => r.CallerNs)),
                    ["ratios_of_medians"] = new Dictionary<string, double>
                    {
                        ["bento_durable/seq_durable"] = Math.Round(Median("bento_durable", r => r.Rate) / Median("seq_durable", r => r.Rate), 2),
                        ["bento_durable_client_only/seq_durable_client_only"] = Math.Round(Median("bento_durable_client_only", r => r.Rate) / Median("seq_durable_client_only", r => r.Rate), 2),
                        ["bento_durable/bento_memory"] = Math.Round(Median("bento_durable", r => r.Rate) / Median("bento_memory", r => r.Rate), 2),
                        ["caller bento_durable/bento_memory"] = Math.Round(Median("bento_durable", r => r.CallerNs) / Median("bento_memory", r => r.CallerNs), 2),
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

        private static async Task<Result> Bento(BentoEmulator emulator, int n, string? directory, CountingHandler? handler = null)
        {
            var before = handler?.Events ?? emulator.EventCount;
            GC.Collect();
            var sw = Stopwatch.StartNew();
            var logger = new LoggerConfiguration().Enrich.FromLogContext()
                .WriteTo.Bento(o => { Shared.Configure(o, emulator); o.QueueLimit = n; o.BufferDirectory = directory; o.MessageHandler = handler; })
                .CreateLogger();
            var caller = Emit(logger.ForAnalytics("feature_used"), n);
            await logger.DisposeAsync();
            sw.Stop();
            var arrived = (handler?.Events ?? emulator.EventCount) - before;
            if (arrived != n) throw new InvalidOperationException($"bento: {arrived} of {n} arrived");
            return new Result(n, sw.Elapsed, caller);
        }

        private static async Task<Result> SeqDurable(BentoEmulator emulator, int n, string directory, CountingHandler? handler = null)
        {
            Directory.CreateDirectory(directory);
            Func<int> count = handler is null ? () => emulator.SeqEventCount : () => handler.Events;
            var before = count();
            GC.Collect();
            var sw = Stopwatch.StartNew();
            var logger = new LoggerConfiguration().Enrich.FromLogContext()
                .WriteTo.Logger(lc => lc.Filter.ByIncludingOnly(e => e.Properties.ContainsKey("AnalyticsEvent"))
                    .WriteTo.Seq(emulator.BaseAddress.ToString().TrimEnd('/'), batchPostingLimit: 1000, period: TimeSpan.FromMilliseconds(100),
                        bufferBaseFilename: Path.Combine(directory, "buffer"), messageHandler: handler))
                .CreateLogger();
            var caller = Emit(logger.ForAnalytics("feature_used"), n);
            // The durable Seq sink ships from its files on a timer: done when the server has every event.
            var deadline = Stopwatch.StartNew();
            while (count() - before < n)
            {
                if (deadline.Elapsed > TimeSpan.FromMinutes(10)) throw new InvalidOperationException($"seq: {count() - before} of {n} arrived");
                await Task.Delay(5);
            }
            sw.Stop();
            await logger.DisposeAsync();
            return new Result(n, sw.Elapsed, caller);
        }

        /// <summary>Answers at once, as Bento or as Seq, and counts the events it was sent (each names its type once).</summary>
        private sealed class CountingHandler : System.Net.Http.HttpMessageHandler
        {
            private static readonly byte[] Marker = System.Text.Encoding.UTF8.GetBytes("feature_used");
            private readonly bool _bento;
            private int _events;

            public CountingHandler(bool bento) => _bento = bento;

            public int Events => System.Threading.Volatile.Read(ref _events);

            protected override async Task<System.Net.Http.HttpResponseMessage> SendAsync(System.Net.Http.HttpRequestMessage request, System.Threading.CancellationToken cancellationToken)
            {
                var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                var span = body.AsSpan();
                var found = 0;
                for (int at; (at = span.IndexOf(Marker)) >= 0; span = span.Slice(at + Marker.Length)) found++;
                System.Threading.Interlocked.Add(ref _events, found);
                return new System.Net.Http.HttpResponseMessage(_bento ? System.Net.HttpStatusCode.OK : System.Net.HttpStatusCode.Created)
                {
                    Content = new System.Net.Http.StringContent(_bento ? "{\"results\":1,\"failed\":0}" : "{}", System.Text.Encoding.UTF8, "application/json"),
                };
            }
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
