using System;
using System.Threading.Tasks;
using Bento.Emulator;

namespace BentoSinks.Testing
{
    /// <summary>
    /// A front end (the Serilog sink, the OpenTelemetry trace exporter) sending to an emulator on a fake clock they
    /// share, its accounting read from the meter: what <see cref="DeliveryScenarios"/> drive.
    /// </summary>
    internal interface IFrontEndUnderTest : IAsyncDisposable
    {
        BentoEmulator Emulator { get; }
        BentoMeterProbe Metrics { get; }

        /// <summary>Emits <paramref name="count"/> analytics events of <paramref name="type"/> numbered from <paramref name="from"/> (<c>details.n</c>), with a <c>blob</c> when given.</summary>
        void Emit(int from, int count, string type = "step", string? blob = null);

        /// <summary>The <c>details.n</c> of every event the emulator accepted.</summary>
        int[] ReceivedNumbers();

        /// <summary>The meter, the emulator and the fake clock, for an assertion's message.</summary>
        string Describe();

        /// <summary>Moves the fake clock in <paramref name="step"/>s until <paramref name="done"/>; false when <paramref name="maxSteps"/> ran out first.</summary>
        Task<bool> PumpAsync(Func<bool> done, TimeSpan step, int maxSteps);

        /// <summary>Shuts the front end down as an app does (disposes the logger, the provider: their flush) while pumping the fake clock; false when it did not finish within <paramref name="maxSteps"/>.</summary>
        Task<bool> ShutDownAsync(TimeSpan step, int maxSteps = 200);
    }
}
