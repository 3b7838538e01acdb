using System;
using System.Linq;
using Bento.Emulator;
using Microsoft.Extensions.Time.Testing;

namespace BentoSinks.Testing
{
    /// <summary>What the emulator received, read the way the delivery tests check it.</summary>
    internal static class DeliveryReport
    {
        /// <summary>The <c>details.n</c> of every event the emulator accepted, in arrival order.</summary>
        public static int[] ReceivedNumbers(this BentoEmulator emulator) => emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).ToArray();

        /// <summary>The state a failed delivery assertion reports: the meter, the emulator, and how far the fake clock went.</summary>
        public static string Describe(BentoMeterProbe metrics, BentoEmulator emulator, FakeTimeProvider time)
        {
            var statuses = string.Join(", ", emulator.Requests.GroupBy(r => r.Status).Select(g => $"{g.Key}: {g.Count()}"));
            return $"metrics: {metrics.Describe()}; emulator: {emulator.EventCount} events accepted ({emulator.ReceivedNumbers().Distinct().Count()} distinct), " +
                   $"{emulator.RequestCount} requests answered, by status [{statuses}]; fake clock +{(time.GetUtcNow() - FakeClock.Start).TotalSeconds:0.###} s";
        }
    }
}
