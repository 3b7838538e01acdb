using System;
using System.Threading;
using System.Threading.Tasks;
using BentoSinks.Delivery;
using BentoSinks.Diagnostics;

namespace OpenTelemetry.Exporter.Bento
{
    /// <summary>Owns one pipeline for a processor: flush and shutdown with OpenTelemetry's timeouts.</summary>
    internal sealed class ProcessorPipeline<TItem, TFormatter>
        where TFormatter : IBentoEventFormatter<TItem>
    {
        public ProcessorPipeline(BentoExporterOptions options, string signal, Func<BentoExporterOptions, TFormatter> createFormatter, IServiceProvider? services = null)
        {
            if (options is null) throw new ArgumentNullException(nameof(options));
            Options = options.Snapshot();
            var settings = Options.Validate();
            settings.SendScope = () => SuppressInstrumentationScope.Begin();
            Formatter = createFormatter(Options);
            IBentoDiagnostics diagnostics = BentoExporterEventSource.Log;
            if (services != null) diagnostics = new HostLogDiagnostics(diagnostics, new HostLoggerFactoryLog(services).Write, "OpenTelemetry " + signal);
            Pipeline = new BentoPipeline<TItem>(settings, Formatter, diagnostics, "OpenTelemetry " + signal);
            if (services?.GetService(typeof(HostPipelines)) is HostPipelines host) host.Add(Pipeline.Settings, Pipeline.Account, Pipeline.FlushAsync);
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
}
