using System;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Diagnostics.Tracing;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Diagnostics;
using OpenTelemetry.Exporter;
using Serilog;

namespace BentoSinks.HealthChecks.Tests
{
    /// <summary>The public names are the names the pipelines really report under.</summary>
    [Collection("Exporter")]
    public class DiagnosticNamesTests
    {
        [Fact]
        public void The_event_source_constant_is_the_exporters_EventSource_name_with_the_OpenTelemetry_prefix()
        {
            var sources = typeof(BentoExporterOptions).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(EventSource))).ToArray();
            var source = Assert.Single(sources);
            Assert.Equal(BentoExporterDiagnostics.EventSourceName, EventSource.GetName(source));
            // OTEL_DIAGNOSTICS.json captures the sources whose name starts with "OpenTelemetry-".
            Assert.StartsWith("OpenTelemetry-", BentoExporterDiagnostics.EventSourceName, StringComparison.Ordinal);
        }

        [Fact]
        public async Task The_meter_constant_is_the_pipelines_Meter_and_the_pipeline_tag_is_on_its_measurements()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var instruments = new ConcurrentDictionary<string, string>();
            var tags = new ConcurrentQueue<string>();
            using var listener = new MeterListener
            {
                InstrumentPublished = (instrument, l) =>
                {
                    if (instrument.Meter.Name != BentoDiagnosticNames.MeterName) return;
                    instruments[instrument.Name] = instrument.Meter.Name;
                    l.EnableMeasurementEvents(instrument);
                },
            };
            listener.SetMeasurementEventCallback<long>((instrument, value, measurementTags, state) =>
            {
                foreach (var tag in measurementTags)
                    if (tag.Key == BentoDiagnosticNames.PipelineTagName) tags.Enqueue(instrument.Name + "=" + tag.Value);
            });
            listener.Start();

            await using (var logger = new LoggerConfiguration().WriteTo.Bento(o => EmulatorOptions.Configure(o, emulator)).CreateLogger())
                logger.ForAnalytics("signup_completed").ForContext("Email", "ada@example.com").Information("Signed up");

            Assert.Equal(1, emulator.EventCount);
            Assert.Contains("bento.events.sent", instruments.Keys);
            Assert.Contains("bento.events.dropped", instruments.Keys);
            Assert.Contains("bento.requests", instruments.Keys);
            Assert.Contains("bento.requests.retries", instruments.Keys);
            Assert.Contains("bento.batch.send.duration", instruments.Keys);
            Assert.Contains("bento.queue.depth", instruments.Keys);
            Assert.Contains("bento.events.sent=Serilog", tags);
        }
    }
}
