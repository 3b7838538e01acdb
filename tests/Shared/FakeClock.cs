using System;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace BentoSinks.Testing
{
    /// <summary>
    /// The fake clock a test shares with the emulator and the client under test, and how it is moved: always through
    /// <see cref="BentoEmulator.AdvanceClockUntilAsync"/>, which lets an answer in progress finish before time moves.
    /// </summary>
    internal static class FakeClock
    {
        /// <summary>Where every fake clock starts.</summary>
        public static readonly DateTimeOffset Start = new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

        public static FakeTimeProvider New() => new FakeTimeProvider(Start);

        /// <summary>The core pipeline still has to take in an answer: it sent more requests than it has had answered.</summary>
        public static Func<bool> Busy(PipelineCounters counters) => () => counters.Requests > counters.Answered;

        /// <summary>Advances <paramref name="time"/> by <paramref name="step"/> until <paramref name="done"/>; false when <paramref name="maxSteps"/> ran out first.</summary>
        public static Task<bool> PumpAsync(this BentoEmulator emulator, FakeTimeProvider time, Func<bool> done, TimeSpan step, int maxSteps, Func<bool>? clientBusy = null)
            => emulator.AdvanceClockUntilAsync(done, () => time.Advance(step), maxSteps, clientBusy);

        /// <summary><see cref="PumpAsync"/>, failing the test with <paramref name="state"/> when <paramref name="done"/> was not reached.</summary>
        public static async Task PumpUntilAsync(this BentoEmulator emulator, FakeTimeProvider time, Func<bool> done, TimeSpan step, int maxSteps, Func<bool> clientBusy, Func<string> state)
        {
            var reached = await emulator.PumpAsync(time, done, step, maxSteps, clientBusy);
            Assert.True(reached, "not reached while pumping the fake clock: " + state());
        }

        /// <summary>Pumps while <paramref name="work"/> (a flush, a disposal) runs; false when it did not finish within <paramref name="maxSteps"/>.</summary>
        public static async Task<bool> PumpWhileAsync(this BentoEmulator emulator, FakeTimeProvider time, Task work, TimeSpan step, int maxSteps)
        {
            var finished = await emulator.PumpAsync(time, () => work.IsCompleted, step, maxSteps);
            if (finished) await work;
            return finished;
        }
    }
}
