using System;
using BentoSinks;
using BentoSinks.Diagnostics;
using OpenTelemetry.Logs;

namespace OpenTelemetry.Exporter.Bento
{
    /// <summary>
    /// Filters log records in <see cref="OnEnd"/>: a record whose attributes or scopes hold the analytics marker is
    /// copied (records are pooled by the SDK) and queued; every other record costs a pass over its attributes and
    /// scopes. The lookups are <see cref="LogRecordFormatter"/>'s. A record Serilog forwarded to the logging providers
    /// is skipped while a Serilog Bento sink is alive (<see cref="SerilogBridge"/>): the sink delivers it.
    /// </summary>
    internal sealed class BentoLogProcessor : BentoProcessorBase<LogRecord, LogRecordItem, LogRecordFormatter>
    {
        public BentoLogProcessor(BentoExporterOptions options, IServiceProvider? services = null)
            : base(options, "logs", o => new LogRecordFormatter(o), services)
        {
        }

        public override void OnEnd(LogRecord data)
        {
            try
            {
                if (data is null) return;
                // Serilog forwarded this record (AddSerilog(writeToProviders: true)) and a Serilog Bento sink is alive:
                // that sink delivers the event, so it reaches Bento once.
                if (FrontEndPresence.SerilogSinkAlive && SerilogBridge.Forwarded(data)) return;
                var capture = Formatter.Capture(data);
                try
                {
                    if (capture.Type is null)
                    {
                        if (capture.MarkerNotText) Pipeline.CountRefused(DropReason.Invalid, default); // an enum or a bool as the type
                        return;
                    }
                    if (!Pipeline.AdmitType(capture.Type)) return;
                    var item = capture.Failure is null ? capture.ToItem() : default;
                    if (capture.Failure != null)
                    {
                        BentoExporterEventSource.Log.Error("Bento: a log record's attributes, scopes or details threw when read (" + capture.Failure + "); its event is counted invalid.");
                        Pipeline.CountRefused(DropReason.Invalid, default);
                        return;
                    }
                    Pipeline.EnqueueIfIdentified(item, item.HasEmail);
                }
                finally
                {
                    capture.Release();
                }
            }
            catch (Exception ex)
            {
                BentoExporterEventSource.Log.Error("Bento: failed to queue a log record (" + ex.GetType().Name + ").");
            }
        }
    }
}
