using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
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
        private CallerLoggers _loggers = null!;

        [GlobalSetup]
        public void Setup()
        {
            _loggers = new CallerLoggers(o =>
                {
                    Shared.Configure(o, new Uri("http://127.0.0.1:9/"));
                    o.MessageHandler = new StalledHandler(_release.Task, bento: true);
                    o.RequestTimeout = TimeSpan.FromHours(1);
                    o.ShutdownTimeout = TimeSpan.Zero;
                },
                new StalledBatchedSink(_release.Task), "http://127.0.0.1:9", new StalledHandler(_release.Task, bento: false));
        }

        [GlobalCleanup]
        public void Cleanup()
        {
            Shared.PrintStatus("SerilogStalledCaller");
            _release.TrySetResult(true); // every consumer answers at once from now on, so disposal drains quickly
            _loggers.Dispose();
        }

        [Benchmark(Baseline = true)]
        public void Stalled_NoSink() => CallerLoggers.Analytics(_loggers.NoSinkAnalytics);

        [Benchmark]
        public void Stalled_Bento() => CallerLoggers.Analytics(_loggers.BentoAnalytics);

        [Benchmark]
        public void Stalled_Serilog4Batching() => CallerLoggers.Analytics(_loggers.BatchingAnalytics);

        [Benchmark]
        public void Stalled_SeqFiltered() => CallerLoggers.Analytics(_loggers.SeqAnalytics);

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
