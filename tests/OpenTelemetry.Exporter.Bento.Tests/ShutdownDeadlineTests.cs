using System;
using System.Diagnostics;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Diagnostics;
using OpenTelemetry.Trace;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>The SDK's shutdown deadline reaches the pipeline: a stalled Bento cannot hold the provider for ShutdownTimeout.</summary>
    [Collection("Exporter")]
    public class ShutdownDeadlineTests
    {
        [Fact]
        public async Task Shutdown_with_a_deadline_returns_by_it_and_counts_the_rest_as_shutdown()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            emulator.SetRandomFaults(1.0, 1, Fault.Delayed(TimeSpan.FromHours(1))); // Bento stalls
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            var options = new BentoExporterOptions();
            EmulatorOptions.Configure(options, emulator);
            options.ShutdownTimeout = TimeSpan.FromSeconds(60);
            options.RequestTimeout = TimeSpan.FromSeconds(60);
            var processor = new BentoActivityProcessor(options);
            var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddProcessor(processor).Build()!;
            AnalyticsActivities.Emit(source, 0, 10);
            _ = processor.Pipeline.FlushAsync(); // the request goes out and hangs
            await emulator.WaitForRequestsStartedAsync(1);

            var sw = Stopwatch.StartNew();
            var completed = provider.Shutdown(1000);
            var shutdownTook = sw.Elapsed;
            provider.Dispose(); // after Shutdown: nothing left to wait for
            var disposeTook = sw.Elapsed - shutdownTook;

            // Bounds far below the 60 s ShutdownTimeout: the deadline was passed down, not ignored.
            Assert.True(shutdownTook < TimeSpan.FromSeconds(15), $"Shutdown(1000) took {shutdownTook}");
            Assert.True(disposeTook < TimeSpan.FromSeconds(15), $"Dispose after Shutdown took {disposeTook}");
            Assert.True(completed, "the pipeline ended within the deadline's grace");
            var c = processor.Pipeline.Counters;
            Assert.Equal(10, c.Offered);
            Assert.Equal(10, c.Dropped(DropReason.Shutdown));
            Assert.Equal(0, c.InFlight);
        }
    }
}
