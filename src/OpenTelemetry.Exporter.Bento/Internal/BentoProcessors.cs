using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using BentoSinks.Delivery;
using OpenTelemetry.Logs;

namespace OpenTelemetry.Exporter.Bento
{
    /// <summary>Owns one pipeline for a processor: flush and shutdown with OpenTelemetry's timeouts.</summary>
    internal sealed class ProcessorPipeline<TItem, TFormatter>
        where TFormatter : IBentoEventFormatter<TItem>
    {
        public ProcessorPipeline(BentoExporterOptions options, string signal, Func<BentoExporterOptions, TFormatter> createFormatter)
        {
            if (options is null) throw new ArgumentNullException(nameof(options));
            Options = options.Snapshot();
            var settings = Options.Validate();
            settings.SendScope = () => SuppressInstrumentationScope.Begin();
            Formatter = createFormatter(Options);
            Pipeline = new BentoPipeline<TItem>(settings, Formatter, BentoExporterEventSource.Log, "OpenTelemetry " + signal);
        }

        public BentoExporterOptions Options { get; }
        public TFormatter Formatter { get; }
        public BentoPipeline<TItem> Pipeline { get; }

        /// <summary>ForceFlush: true once every event offered before the call has settled, within the timeout.</summary>
        public bool Flush(int timeoutMilliseconds)
        {
            try
            {
                var task = Pipeline.FlushAsync();
                return timeoutMilliseconds == Timeout.Infinite ? Wait(task) : task.Wait(timeoutMilliseconds);
            }
            catch (Exception ex)
            {
                BentoExporterEventSource.Log.Error("Bento: flush failed (" + ex.GetType().Name + ").");
                return false;
            }
        }

        /// <summary>
        /// Shutdown: delivers what is queued within the SDK's deadline (and at most ShutdownTimeout), then stops hard and
        /// counts the rest as shutdown. The deadline is passed down, so the call returns in time; a later Dispose is free.
        /// </summary>
        public bool Shutdown(int timeoutMilliseconds)
        {
            try
            {
                var deadline = timeoutMilliseconds == Timeout.Infinite ? (TimeSpan?)null : TimeSpan.FromMilliseconds(Math.Max(0, timeoutMilliseconds));
                var task = Pipeline.ShutdownAsync(deadline);
                if (deadline is null) return Wait(task);
                // The pipeline enforces the (earlier of the) deadline and ShutdownTimeout on its own clock, then stops
                // hard and returns within a short grace; this wait only guards against a clock that does not move.
                var limit = (deadline.Value < Options.ShutdownTimeout ? deadline.Value : Options.ShutdownTimeout) + TimeSpan.FromSeconds(6);
                return task.Wait(limit);
            }
            catch (Exception ex)
            {
                BentoExporterEventSource.Log.Error("Bento: shutdown failed (" + ex.GetType().Name + ").");
                return false;
            }
        }

        private static bool Wait(Task task)
        {
            task.GetAwaiter().GetResult();
            return true;
        }
    }

    /// <summary>What both processors share: one pipeline, flushed and shut down with OpenTelemetry's timeouts.</summary>
    internal abstract class BentoProcessorBase<T, TItem, TFormatter> : BaseProcessor<T>
        where TFormatter : IBentoEventFormatter<TItem>
    {
        protected BentoProcessorBase(BentoExporterOptions options, string signal, Func<BentoExporterOptions, TFormatter> createFormatter)
            => Host = new ProcessorPipeline<TItem, TFormatter>(options, signal, createFormatter);

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

    /// <summary>
    /// Filters finished activities in <see cref="OnEnd"/>: only their analytics events are queued, into the Bento
    /// pipeline (never into OpenTelemetry's batch queue, where ordinary spans would crowd them out). The lookups are
    /// <see cref="ActivityEventFormatter"/>'s.
    /// </summary>
    internal sealed class BentoActivityProcessor : BentoProcessorBase<Activity, ActivityEventItem, ActivityEventFormatter>
    {
        public BentoActivityProcessor(BentoExporterOptions options)
            : base(options, "traces", o => new ActivityEventFormatter(o))
        {
        }

        public override void OnEnd(Activity data)
        {
            try
            {
                if (data is null) return;
                foreach (ref readonly var activityEvent in data.EnumerateEvents())
                {
                    if (!Formatter.IsAnalytics(activityEvent) || !Pipeline.AdmitType(activityEvent.Name)) continue;
                    var item = Formatter.Capture(data, activityEvent);
                    Pipeline.EnqueueIfIdentified(item, item.HasEmail);
                }
            }
            catch (Exception ex)
            {
                // The filter (AnalyticsEventFilter) is the application's code; the app never sees our exceptions.
                BentoExporterEventSource.Log.Error("Bento: failed to queue an activity's events (" + ex.GetType().Name + ").");
            }
        }
    }

    /// <summary>
    /// Filters log records in <see cref="OnEnd"/>: a record whose attributes or scopes hold the analytics marker is
    /// copied (records are pooled by the SDK) and queued; every other record costs a pass over its attributes and
    /// scopes. The lookups are <see cref="LogRecordFormatter"/>'s.
    /// </summary>
    internal sealed class BentoLogProcessor : BentoProcessorBase<LogRecord, LogRecordItem, LogRecordFormatter>
    {
        public BentoLogProcessor(BentoExporterOptions options)
            : base(options, "logs", o => new LogRecordFormatter(o))
        {
        }

        public override void OnEnd(LogRecord data)
        {
            try
            {
                if (data is null) return;
                var capture = Formatter.Capture(data);
                if (capture.Type is null || !Pipeline.AdmitType(capture.Type)) return;
                var item = capture.ToItem();
                Pipeline.EnqueueIfIdentified(item, item.HasEmail);
            }
            catch (Exception ex)
            {
                BentoExporterEventSource.Log.Error("Bento: failed to queue a log record (" + ex.GetType().Name + ").");
            }
        }
    }
}
