using System;
using System.Threading.Tasks;
using Bento.Emulator;
using Microsoft.Extensions.Time.Testing;
using Serilog.Core;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary>
    /// A logger whose only sink is Bento, pointed at an emulator on a fake clock they share (unless real time is asked
    /// for), with the pipeline's accounting read from the meter as an app reads it.
    /// </summary>
    internal sealed class MeteredSerilogUnderTest : IFrontEndUnderTest
    {
        private bool _loggerDisposed;

        public required BentoEmulator Emulator { get; init; }
        public required Logger Logger { get; init; }
        public required FakeTimeProvider Time { get; init; }
        public required BentoMeterProbe Metrics { get; init; }

        public static async Task<MeteredSerilogUnderTest> StartAsync(Action<BentoSinkOptions>? configure = null, bool fakeTime = true)
        {
            var time = FakeClock.New();
            var metrics = new BentoMeterProbe("Serilog");
            var emulator = await BentoEmulator.StartAsync(fakeTime ? new BentoEmulatorOptions { TimeProvider = time } : new BentoEmulatorOptions());
            var logger = new LoggerConfiguration().Enrich.FromLogContext()
                .WriteTo.Bento(o =>
                {
                    EmulatorOptions.Configure(o, emulator);
                    if (fakeTime) o.TimeProvider = time;
                    configure?.Invoke(o);
                })
                .CreateLogger();
            return new MeteredSerilogUnderTest { Emulator = emulator, Logger = logger, Time = time, Metrics = metrics };
        }

        /// <summary>Emits <paramref name="count"/> events numbered from <paramref name="from"/> (<c>details.n</c>), with a <c>blob</c> property when given.</summary>
        public void Emit(int from, int count, string type = "step", string? blob = null)
        {
            var log = Logger.ForAnalytics(type).ForContext("Email", $"user{from % 7}@example.com");
            for (var i = from; i < from + count; i++)
            {
                if (blob is null) log.Information("Step {n}", i);
                else log.Information("Step {n} {blob}", i, blob);
            }
        }

        public int[] ReceivedNumbers() => Emulator.ReceivedNumbers();

        public string Describe() => DeliveryReport.Describe(Metrics, Emulator, Time);

        /// <summary>Moves the fake clock in <paramref name="step"/>s until <paramref name="done"/> (or <paramref name="maxSteps"/>).</summary>
        public Task<bool> PumpAsync(Func<bool> done, TimeSpan step, int maxSteps)
            => Emulator.PumpAsync(Time, done, step, maxSteps);

        /// <summary>Moves the fake clock until <paramref name="done"/>, never while the sink has yet to take in an answer (that would turn it into a timeout); fails the test past <paramref name="maxSteps"/>.</summary>
        public Task PumpUntil(Func<bool> done, TimeSpan step, int maxSteps = 20_000)
            => Emulator.PumpUntilAsync(Time, done, step, maxSteps, Metrics.Busy(Emulator), Describe);

        /// <summary>Disposes the logger (its flush) while pumping the fake clock; false when it did not finish in time.</summary>
        public async Task<bool> DisposeLoggerAsync(TimeSpan step, int maxSteps = 200)
        {
            if (_loggerDisposed) return true;
            _loggerDisposed = true;
            return await Emulator.PumpWhileAsync(Time, Task.Run(async () => await Logger.DisposeAsync()), step, maxSteps);
        }

        public Task<bool> ShutDownAsync(TimeSpan step, int maxSteps = 200) => DisposeLoggerAsync(step, maxSteps);

        public async ValueTask DisposeAsync()
        {
            // Never hang a failing test on the fake clock: pump it while the logger shuts down (bounded).
            await DisposeLoggerAsync(TimeSpan.FromSeconds(5));
            Metrics.Dispose();
            await Emulator.DisposeAsync();
        }
    }
}
