using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Bento.Emulator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using Serilog;
using Serilog.Context;
using Serilog.Sinks.OpenTelemetry;

namespace BentoSinks.Benchmarks
{
    /// <summary>
    /// Suite 4: N analytics events through each system to the same loopback server, timed from the first event until
    /// the logger/provider is disposed (which flushes) and the server has them; plus the memory a full queue holds.
    /// </summary>
    internal static class Throughput
    {
        public static async Task<int> RunAsync(bool quick, bool inProcess)
        {
            var n = quick ? 20_000 : 200_000;
            var results = new Dictionary<string, Result>();
            // By default the emulator runs in its own process, as a real server would: its CPU and its GC heap are
            // not the clients'. --in-process shares them (a noisier, harsher measurement on 2 cores).
            await using var emulator = inProcess ? await Server.InProcessAsync() : await Server.OutOfProcessAsync();

            // Warm up every path (JIT tiering, connections) with a quarter-size run before measuring.
            var warmup = n / 4;
            await SerilogBento(emulator, warmup);
            await SerilogSeq(emulator, warmup);
            await SerilogOtlp(emulator, warmup);
            await OtelLogsBento(emulator, warmup);

            results["bento_serilog"] = await SerilogBento(emulator, n);
            results["seq_serilog"] = await SerilogSeq(emulator, n);
            results["otlp_serilog"] = await SerilogOtlp(emulator, n);
            results["bento_otel_logs"] = await OtelLogsBento(emulator, n);
            // Client side only: the same sinks with an HTTP handler that reads each body and answers at once, so that
            // the in-process server's CPU (shared on a small machine) is out of the picture.
            await ClientOnly("bento_serilog_client_only", n, emulator, bento: true);
            await ClientOnly("seq_serilog_client_only", n, emulator, bento: false);
            results["bento_serilog_client_only"] = await ClientOnly("bento_serilog_client_only", n, emulator, bento: true);
            results["seq_serilog_client_only"] = await ClientOnly("seq_serilog_client_only", n, emulator, bento: false);
            var queueBytes = await FullQueueBytesPerEvent();

            double Rate(string k) => results[k].EventsPerSecond;
            var output = new Dictionary<string, object>
            {
                ["events"] = n,
                ["machine"] = $"{Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}",
                ["server"] = inProcess ? "emulator in process" : "emulator in its own process",
                ["events_per_second"] = results.ToDictionary(r => r.Key, r => Math.Round(r.Value.EventsPerSecond)),
                ["allocated_bytes_per_event"] = results.ToDictionary(r => r.Key, r => Math.Round(r.Value.AllocatedPerEvent)),
                ["peak_working_set_mb"] = Math.Round(Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0),
                ["ratios"] = new Dictionary<string, double>
                {
                    ["bento_serilog/seq_serilog"] = Math.Round(Rate("bento_serilog") / Rate("seq_serilog"), 2),
                    ["bento_serilog/otlp_serilog"] = Math.Round(Rate("bento_serilog") / Rate("otlp_serilog"), 2),
                    ["bento_otel_logs/otlp_serilog"] = Math.Round(Rate("bento_otel_logs") / Rate("otlp_serilog"), 2),
                    ["bento_serilog_client_only/seq_serilog_client_only"] = Math.Round(Rate("bento_serilog_client_only") / Rate("seq_serilog_client_only"), 2),
                },
                ["full_queue_bytes_per_event"] = Math.Round(queueBytes),
            };
            Console.WriteLine(JsonSerializer.Serialize(output));
            return 0;
        }

        private readonly struct Result
        {
            public Result(int events, TimeSpan elapsed, long allocated)
            {
                EventsPerSecond = events / elapsed.TotalSeconds;
                AllocatedPerEvent = allocated / (double)events;
            }

            public double EventsPerSecond { get; }
            public double AllocatedPerEvent { get; }
        }

        private static async Task<Result> Measure(int n, Func<Task> run)
        {
            GC.Collect();
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var sw = Stopwatch.StartNew();
            await run();
            sw.Stop();
            return new Result(n, sw.Elapsed, GC.GetTotalAllocatedBytes(precise: true) - allocated);
        }

        private static void Emit(Serilog.ILogger log, int n)
        {
            using (LogContext.PushProperty("Email", "ada@example.com"))
            {
                for (var i = 0; i < n; i++) log.Information("Used {feature} on {plan} ({seats} seats, trial {trial}) {n}", "export", "pro", 3, false, i);
            }
        }

        private static async Task<Result> SerilogBento(Server emulator, int n)
        {
            var before = (await emulator.StatsAsync()).Bento;
            var result = await Measure(n, async () =>
            {
                var logger = new LoggerConfiguration().Enrich.FromLogContext()
                    .WriteTo.Bento(o => { Shared.Configure(o, emulator.ApiBase); o.QueueLimit = n; })
                    .CreateLogger();
                Emit(logger.ForAnalytics("feature_used"), n);
                await logger.DisposeAsync();
            });
            Check("bento_serilog", (await emulator.StatsAsync()).Bento - before, n);
            return result;
        }

        private static async Task<Result> SerilogSeq(Server emulator, int n)
        {
            var before = (await emulator.StatsAsync()).Seq;
            var result = await Measure(n, async () =>
            {
                var logger = new LoggerConfiguration().Enrich.FromLogContext()
                    .WriteTo.Logger(lc => lc.Filter.ByIncludingOnly(e => e.Properties.ContainsKey("AnalyticsEvent"))
                        .WriteTo.Seq(emulator.BaseAddress.ToString().TrimEnd('/'), batchPostingLimit: 1000, period: TimeSpan.FromSeconds(1), queueSizeLimit: n))
                    .CreateLogger();
                Emit(logger.ForAnalytics("feature_used"), n);
                await logger.DisposeAsync();
            });
            Check("seq_serilog", (await emulator.StatsAsync()).Seq - before, n);
            return result;
        }

        private static async Task<Result> SerilogOtlp(Server emulator, int n)
        {
            return await Measure(n, async () =>
            {
                var logger = new LoggerConfiguration().Enrich.FromLogContext()
                    .WriteTo.Logger(lc => lc.Filter.ByIncludingOnly(e => e.Properties.ContainsKey("AnalyticsEvent"))
                        .WriteTo.OpenTelemetry(o =>
                        {
                            o.Endpoint = new Uri(emulator.BaseAddress, "v1/logs").ToString();
                            o.Protocol = OtlpProtocol.HttpProtobuf;
                            o.BatchingOptions.BatchSizeLimit = 1000;
                            o.BatchingOptions.BufferingTimeLimit = TimeSpan.FromSeconds(1);
                            o.BatchingOptions.QueueLimit = n;
                        }))
                    .CreateLogger();
                Emit(logger.ForAnalytics("feature_used"), n);
                await logger.DisposeAsync();
            });
        }

        private static async Task<Result> OtelLogsBento(Server emulator, int n)
        {
            var before = (await emulator.StatsAsync()).Bento;
            var result = await Measure(n, async () =>
            {
                var services = new ServiceCollection();
                services.AddLogging();
                services.AddOpenTelemetry().WithLogging(l => l.AddBentoExporter(o => { Shared.Configure(o, emulator.ApiBase); o.QueueLimit = n; }), o => o.IncludeScopes = true);
                await using var sp = services.BuildServiceProvider();
                var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("bench");
                using (logger.BeginScope(new Dictionary<string, object?> { ["Email"] = "ada@example.com" }))
                {
                    for (var i = 0; i < n; i++)
                        logger.LogInformation("{AnalyticsEvent}: {feature} on {plan} ({seats} seats, trial {trial}) {n}", "feature_used", "export", "pro", 3, false, i);
                }
            });
            Check("bento_otel_logs", (await emulator.StatsAsync()).Bento - before, n);
            return result;
        }

        /// <summary>The emulator, in this process or in its own.</summary>
        private sealed class Server : IAsyncDisposable
        {
            private readonly BentoEmulator? _embedded;
            private readonly Process? _process;
            private readonly System.Net.Http.HttpClient _http = new System.Net.Http.HttpClient();

            private Server(Uri baseAddress, BentoEmulator? embedded, Process? process)
            {
                BaseAddress = baseAddress;
                _embedded = embedded;
                _process = process;
            }

            public Uri BaseAddress { get; }
            public Uri ApiBase => new Uri(BaseAddress, "api/v1");

            public static async Task<Server> InProcessAsync()
            {
                var e = await BentoEmulator.StartAsync(new BentoEmulatorOptions { RecordEvents = false });
                return new Server(e.BaseAddress, e, null);
            }

            public static async Task<Server> OutOfProcessAsync()
            {
                var dll = System.IO.Path.Combine(AppContext.BaseDirectory, "Bento.Emulator.dll");
                var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
                foreach (var a in new[] { dll, "--urls", "http://127.0.0.1:0", "--quiet", "--counts-only" }) start.ArgumentList.Add(a);
                var process = Process.Start(start)!;
                var line = await process.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("the emulator did not start");
                var marker = "endpoint ";
                var at = line.IndexOf(marker, StringComparison.Ordinal);
                var apiBase = line.Substring(at + marker.Length).Split(' ')[0];
                return new Server(new Uri(new Uri(apiBase), "/"), null, process);
            }

            public async Task<(int Bento, int Seq)> StatsAsync()
            {
                if (_embedded != null) return (_embedded.EventCount, _embedded.SeqEventCount);
                using var doc = JsonDocument.Parse(await _http.GetStringAsync(new Uri(BaseAddress, "_emulator/stats")));
                return (doc.RootElement.GetProperty("bento_events").GetInt32(), doc.RootElement.GetProperty("seq_events").GetInt32());
            }

            public async ValueTask DisposeAsync()
            {
                _http.Dispose();
                if (_embedded != null) await _embedded.DisposeAsync();
                if (_process != null)
                {
                    _process.Kill();
                    await _process.WaitForExitAsync();
                    _process.Dispose();
                }
            }
        }

        private sealed class AnswerAtOnce : System.Net.Http.HttpMessageHandler
        {
            private readonly bool _bento;
            public long Bytes;
            public AnswerAtOnce(bool bento) => _bento = bento;

            protected override async Task<System.Net.Http.HttpResponseMessage> SendAsync(System.Net.Http.HttpRequestMessage request, System.Threading.CancellationToken cancellationToken)
            {
                var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                System.Threading.Interlocked.Add(ref Bytes, body.Length);
                return new System.Net.Http.HttpResponseMessage(_bento ? System.Net.HttpStatusCode.OK : System.Net.HttpStatusCode.Created)
                {
                    Content = new System.Net.Http.StringContent(_bento ? "{\"results\":1,\"failed\":0}" : "{}", System.Text.Encoding.UTF8, "application/json"),
                };
            }
        }

        private static async Task<Result> ClientOnly(string name, int n, Server emulator, bool bento)
        {
            var handler = new AnswerAtOnce(bento);
            var result = await Measure(n, async () =>
            {
                var config = new LoggerConfiguration().Enrich.FromLogContext();
                config = bento
                    ? config.WriteTo.Bento(o => { Shared.Configure(o, emulator.ApiBase); o.QueueLimit = n; o.MessageHandler = handler; })
                    : config.WriteTo.Logger(lc => lc.Filter.ByIncludingOnly(e => e.Properties.ContainsKey("AnalyticsEvent"))
                        .WriteTo.Seq(emulator.BaseAddress.ToString().TrimEnd('/'), batchPostingLimit: 1000, period: TimeSpan.FromSeconds(1), queueSizeLimit: n, messageHandler: handler));
                var logger = config.CreateLogger();
                Emit(logger.ForAnalytics("feature_used"), n);
                await logger.DisposeAsync();
            });
            if (handler.Bytes == 0) Console.Error.WriteLine($"warning: {name} sent nothing");
            return result;
        }

        /// <summary>Bytes held per queued event by a full 100,000-event queue while the server is stalled.</summary>
        private static async Task<double> FullQueueBytesPerEvent()
        {
            const int queue = 100_000;
            await using var stalled = await BentoEmulator.StartAsync(new BentoEmulatorOptions { RecordEvents = false });
            stalled.SetRandomFaults(1.0, 1, Fault.Delayed(TimeSpan.FromHours(1)));
            var logger = new LoggerConfiguration().Enrich.FromLogContext()
                .WriteTo.Bento(o => { Shared.Configure(o, stalled); o.QueueLimit = queue; o.ShutdownTimeout = TimeSpan.Zero; o.RequestTimeout = TimeSpan.FromHours(1); })
                .CreateLogger();
            var log = logger.ForAnalytics("feature_used");
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var before = GC.GetTotalMemory(true);
            // One full batch goes in flight (and is held by it), then the queue fills.
            Emit(log, queue + 2 * Bento.Emulator.BentoValidation.MaxEvents);
            await Task.Delay(500);
            var after = GC.GetTotalMemory(true);
            await logger.DisposeAsync();
            return (after - before) / (double)(queue + Bento.Emulator.BentoValidation.MaxEvents);
        }

        private static void Check(string name, int received, int expected)
        {
            if (received != expected) Console.Error.WriteLine($"warning: {name} delivered {received.ToString(CultureInfo.InvariantCulture)} of {expected.ToString(CultureInfo.InvariantCulture)} events");
        }
    }
}
