using System;
using System.Threading;
using BentoSinks.Delivery;

namespace OpenTelemetry.Exporter.Bento
{
    /// <summary>What both processors share: one pipeline, flushed and shut down with OpenTelemetry's timeouts.</summary>
    internal abstract class BentoProcessorBase<T, TItem, TFormatter> : BaseProcessor<T>
        where TFormatter : IBentoEventFormatter<TItem>
    {
        protected BentoProcessorBase(BentoExporterOptions options, string signal, Func<BentoExporterOptions, TFormatter> createFormatter, IServiceProvider? services)
            => Host = new ProcessorPipeline<TItem, TFormatter>(options, signal, createFormatter, services);

        protected ProcessorPipeline<TItem, TFormatter> Host { get; }

        /// <summary>Where every lookup of this signal lives, next to its formatting.</summary>
        protected TFormatter Formatter => Host.Formatter;

        internal BentoPipeline<TItem> Pipeline => Host.Pipeline;

        protected override bool OnForceFlush(int timeoutMilliseconds) => Host.Flush(timeoutMilliseconds);

        protected override bool OnShutdown(int timeoutMilliseconds) => Host.Shutdown(timeoutMilliseconds);

        protected override void Dispose(bool disposing)
        {
            if (disposing) Host.Shutdown(Timeout.Infinite);
            base.Dispose(disposing);
        }
    }
}
