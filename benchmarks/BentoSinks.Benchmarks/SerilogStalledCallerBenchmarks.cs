using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Serilog;
using Serilog.Configuration;
using Serilog.Context;
using Serilog.Core;
using Serilog.Events;

namespace BentoSinks.Benchmarks
{
    /// <summary>
    /// Suite 1b: the caller's own code for an analytics event, with every consumer stalled until the cleanup (our HTTP
    /// handler and Seq's never answer, Serilog 4's batched target never completes). Each queue fills within the pilot
    /// stage, then every event is refused at the full queue and counted: no reader loop, server or batch consumer runs
    /// on the second core while the caller is timed, so this is what the sink's own code costs on the caller's thread,
    /// free of the contention that makes suite 1 swing between runs.
    /// </summary>
    [MemoryDiagnoser]
    public class SerilogStalledCallerBenchmarks
    {
        private readonly TaskCompletionSource<bool> _release = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
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
            var api = new Uri("http://127.0.0.1:9/");
            _noSink = new LoggerConfiguration().Enrich.FromLogContext().CreateLogger();
            _bento = new LoggerConfiguration().Enrich.FromLogContext()
                .WriteTo.Bento(o =>
                {
                    Shared.Configure(o, api);
                    o.MessageHandler = new StalledHandler(_release.Task, bento: true);
                    o.RequestTimeout = TimeSpan.FromHours(1);
                    o.ShutdownTimeout = TimeSpan.Zero;
                })
                .CreateLogger();
            _batching = new LoggerConfiguration().Enrich.FromLogContext()
                .WriteTo.Sink(new StalledBatchedSink(_release.Task), new BatchingOptions { BatchSizeLimit = 1000, BufferingTimeLimit = TimeSpan.FromSeconds(1), QueueLimit = 100_000 })
                .CreateLogger();
            _seq = new LoggerConfiguration().Enrich.FromLogContext()
                .WriteTo.Logger(lc => lc.Filter.ByIncludingOnly(e => e.Properties.ContainsKey("AnalyticsEvent"))
                    .WriteTo.Seq("http://127.0.0.1:9", queueSizeLimit: 100_000, messageHandler: new StalledHandler(_release.Task, bento: false)))
                .CreateLogger();
            _noSinkAnalytics = _noSink.ForAnalytics("feature_used");
            _bentoAnalytics = _bento.ForAnalytics("feature_used");
            _batchingAnalytics = _batching.ForAnalytics("feature_used");
            _seqAnalytics = _seq.ForAnalytics("feature_used");
        }

        [GlobalCleanup]
        public void Cleanup()
        {
            Shared.PrintStatus("SerilogStalledCaller");
            _release.TrySetResult(true); // every consumer answers at once from now on, so disposal drains quickly
            _noSink.Dispose();
            _bento.Dispose();
            _batching.Dispose();
            _seq.Dispose();
        }

        [Benchmark(Baseline = true)]
        public void Stalled_NoSink() => Analytics(_noSinkAnalytics);

        [Benchmark]
        public void Stalled_Bento() => Analytics(_bentoAnalytics);

        [Benchmark]
        public void Stalled_Serilog4Batching() => Analytics(_batchingAnalytics);

        [Benchmark]
        public void Stalled_SeqFiltered() => Analytics(_seqAnalytics);

        private static void Analytics(ILogger log)
        {
            // As in suite 1: the marker (contextual), the email from LogContext, four properties from the template.
            using (LogContext.PushProperty("Email", "ada@example.com"))
                log.Information("Used {feature} on {plan} ({seats} seats, trial {trial})", "export", "pro", 3, false);
        }

        /// <summary>Answers nothing until released, then answers every request at once (Bento: accepted; Seq: created).</summary>
        private sealed class StalledHandler : HttpMessageHandler
        {
            private readonly Task _release;
            private readonly bool _bento;

            public StalledHandler(Task release, bool bento)
            {
                _release = release;
                _bento = bento;
            }

            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                await _release.WaitAsync(cancellationToken).ConfigureAwait(false);
                return new HttpResponseMessage(_bento ? HttpStatusCode.OK : HttpStatusCode.Created)
                {
                    Content = new StringContent(_bento ? "{\"results\":1,\"failed\":0}" : "{}", System.Text.Encoding.UTF8, "application/json"),
                };
            }
        }

        /// <summary>Serilog 4's batching with a target that does not complete a batch until released.</summary>
        private sealed class StalledBatchedSink : IBatchedLogEventSink
        {
            private readonly Task _release;

            public StalledBatchedSink(Task release) => _release = release;

            public Task EmitBatchAsync(IReadOnlyCollection<LogEvent> batch) => _release;

            public Task OnEmptyBatchAsync() => Task.CompletedTask;
        }
    }
}
