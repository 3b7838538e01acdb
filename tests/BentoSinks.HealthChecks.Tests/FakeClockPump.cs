using System;
using System.Threading.Tasks;
using Bento.Emulator;
using Microsoft.Extensions.Time.Testing;

namespace BentoSinks.HealthChecks.Tests
{
    internal static class FakeClockPump
    {
        /// <summary>Advances <paramref name="time"/> a second at a time (letting each answer finish first) until <paramref name="done"/>; false after <paramref name="maxSteps"/>.</summary>
        public static Task<bool> PumpUntil(this BentoEmulator emulator, FakeTimeProvider time, Func<bool> done, int maxSteps = 1_000)
            => emulator.AdvanceClockUntilAsync(done, () => time.Advance(TimeSpan.FromSeconds(1)), maxSteps);
    }
}
