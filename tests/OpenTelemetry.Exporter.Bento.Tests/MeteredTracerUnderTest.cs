using System;
using System.Diagnostics;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks;
using Microsoft.Extensions.Time.Testing;
using OpenTelemetry.Trace;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>
    /// A tracer provider whose only exporter is Bento (<c>AddBentoExporter</c>), pointed at an emulator on a fake clock
    /// they share (unless real time is asked for), with the pipeline's accounting read from the meter as an app reads it.
    /// </summary>
    internal sealed class MeteredTracerUnderTest : IFrontEndUnderTest
    {
        private const string TracesPipeline = "OpenTelemetry traces";
        private bool _providerDisposed;

        public required BentoEmulator Emulator { get; init; }
        public required TracerProvider Provider { get; init; }
        public required ActivitySource Source { get; init; }
        public required FakeTimeProvider Time { get; init; }
        public required BentoMeterProbe Metrics { get; init; }

        public static async Task<MeteredTracerUnderTest> StartAsync(Action<BentoExporterOptions> configure, bool fakeTime = true)
        {
            var time = FakeClock.New();
            var metrics = new BentoMeterProbe(TracesPipeline);
            var emulator = await BentoEmulator.StartAsync(fakeTime ? new BentoEmulatorOptions { TimeProvider = time } : new BentoEmulatorOptions());
            var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name)
                .AddBentoExporter(o =>
                {
                    EmulatorOptions.Configure(o, emulator);
                    if (fakeTime) o.TimeProvider = time;
                    configure(o);
                })
                .Build()!;
            return new MeteredTracerUnderTest { Emulator = emulator, Provider = provider, Source = source, Time = time, Metrics = metrics };
        }

        public void Emit(int from, int count, string type = "step", string? blob = null) => AnalyticsActivities.Emit(Source, from, count, type, blob);

        /// <summary>Invalid on the reader loop: a <c>$purchase</c> with a negative amount is dropped as <c>invalid</c>.</summary>
        public void EmitInvalidPurchases(int from, int count)
        {
            for (var i = from; i < from + count; i++)
            {
                using var a = Source.StartActivity("checkout")!;
                a.SetTag("user.email", "ada@example.com");
                a.AddEvent(new ActivityEvent("$purchase", default, new ActivityTagsCollection
                {
                    ["analytics.event"] = true, ["n"] = i, ["Purchase"] = new BentoPurchase("order-" + i, -5, "USD"),
                }));
            }
        }

        public int[] ReceivedNumbers() => Emulator.ReceivedNumbers();

        public string Describe() => DeliveryReport.Describe(Metrics, Emulator, Time);

        /// <summary>Moves the fake clock in <paramref name="step"/>s until <paramref name="done"/> (or <paramref name="maxSteps"/>).</summary>
        public Task<bool> PumpAsync(Func<bool> done, TimeSpan step, int maxSteps)
            => Emulator.PumpAsync(Time, done, step, maxSteps);

        /// <summary>Shuts the provider down (its flush) while pumping the fake clock; false when it did not finish in time.</summary>
        public async Task<bool> DisposeProviderAsync(TimeSpan step, int maxSteps = 200)
        {
            if (_providerDisposed) return true;
            _providerDisposed = true;
            return await Emulator.PumpWhileAsync(Time, Task.Run(() => Provider.Dispose()), step, maxSteps);
        }

        public Task<bool> ShutDownAsync(TimeSpan step, int maxSteps = 200) => DisposeProviderAsync(step, maxSteps);

        public async ValueTask DisposeAsync()
        {
            // Never hang a failing test on the fake clock: pump it while the provider shuts down (bounded).
            await DisposeProviderAsync(TimeSpan.FromSeconds(5));
            Source.Dispose();
            Metrics.Dispose();
            await Emulator.DisposeAsync();
        }
    }
}
