using System;
using System.Net.Http;
using Serilog;
using Serilog.Configuration;
using Serilog.Context;
using Serilog.Core;
using Serilog.Sinks.Bento;

namespace BentoSinks.Benchmarks
{
    /// <summary>
    /// The four loggers the Serilog caller suites (1 and 1b) compare, built the same way in both: no sink, ours, Serilog 4's
    /// batching (queue of 100,000, batches of 1,000) and Serilog.Sinks.Seq behind an analytics filter (queue of 100,000),
    /// each with <c>Enrich.FromLogContext()</c> and an analytics logger (<c>feature_used</c>).
    /// </summary>
    internal sealed class CallerLoggers : IDisposable
    {
        public CallerLoggers(Action<BentoSinkOptions> bento, IBatchedLogEventSink batchedTarget, string seqUrl, HttpMessageHandler? seqHandler = null)
        {
            NoSink = new LoggerConfiguration().Enrich.FromLogContext().CreateLogger();
            Bento = new LoggerConfiguration().Enrich.FromLogContext().WriteTo.Bento(bento).CreateLogger();
            Batching = new LoggerConfiguration().Enrich.FromLogContext()
                .WriteTo.Sink(batchedTarget, new BatchingOptions { BatchSizeLimit = 1000, BufferingTimeLimit = TimeSpan.FromSeconds(1), QueueLimit = 100_000 })
                .CreateLogger();
            Seq = new LoggerConfiguration().Enrich.FromLogContext()
                .WriteTo.Logger(lc => lc.Filter.ByIncludingOnly(e => e.Properties.ContainsKey("AnalyticsEvent"))
                    .WriteTo.Seq(seqUrl, queueSizeLimit: 100_000, messageHandler: seqHandler))
                .CreateLogger();
            NoSinkAnalytics = NoSink.ForAnalytics("feature_used");
            BentoAnalytics = Bento.ForAnalytics("feature_used");
            BatchingAnalytics = Batching.ForAnalytics("feature_used");
            SeqAnalytics = Seq.ForAnalytics("feature_used");
        }

        public Logger NoSink { get; }
        public Logger Bento { get; }
        public Logger Batching { get; }
        public Logger Seq { get; }
        public ILogger NoSinkAnalytics { get; }
        public ILogger BentoAnalytics { get; }
        public ILogger BatchingAnalytics { get; }
        public ILogger SeqAnalytics { get; }

        /// <summary>The analytics event both suites time: the marker (contextual), the email from LogContext, four properties from the template.</summary>
        public static void Analytics(ILogger log)
        {
            using (LogContext.PushProperty("Email", "ada@example.com"))
                log.Information("Used {feature} on {plan} ({seats} seats, trial {trial})", "export", "pro", 3, false);
        }

        public void Dispose()
        {
            NoSink.Dispose();
            Bento.Dispose();
            Batching.Dispose();
            Seq.Dispose();
        }
    }
}
