using System;
using System.Threading.Tasks;
using Xunit.Abstractions;

namespace BentoSinks.Core.Tests
{
    /// <summary>
    /// The Core randomized tests' use of <see cref="BentoSinks.Testing.SeededRuns"/> (tests/Shared): each run takes a new
    /// base seed, case i runs with base + i·7919, and a failure names its seed; BENTO_RANDOM_SEED=seed runs that case alone
    /// and prints its trace.
    /// </summary>
    internal static class SeededCases
    {
        /// <summary>
        /// Runs the cases (<paramref name="casesVariable"/> overrides <paramref name="defaultCases"/>); <paramref name="run"/>
        /// returns the case's trace and throws on a broken promise. <paramref name="summary"/> adds to the last line.
        /// </summary>
        public static async Task RunAsync(ITestOutputHelper output, string casesVariable, int defaultCases, Func<int, Task<string>> run, Func<string>? summary = null)
        {
            const string SeedVariable = "BENTO_RANDOM_SEED";
            var replay = BentoSinks.Testing.SeededRuns.ReplayedSeed(SeedVariable) != null;
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var (total, baseSeed) = await BentoSinks.Testing.SeededRuns.RunAsync(SeedVariable, casesVariable, defaultCases, async (seed, _) =>
            {
                var trace = await Task.Run(() => run(seed));
                if (replay) output.WriteLine(trace);
            });
            output.WriteLine($"{total} cases from seed {baseSeed}{(summary is null ? "" : ": " + summary())}: {sw.Elapsed.TotalSeconds:0.0} s");
        }

        /// <summary>Whether <paramref name="task"/> ends (in any way) within <paramref name="timeout"/> of real time: a wait on the task, not a sleep.</summary>
        public static async Task<bool> EndsWithin(Task task, TimeSpan timeout)
        {
            try
            {
                await task.WaitAsync(timeout);
            }
            catch (TimeoutException) when (!task.IsCompleted)
            {
                return false;
            }
            catch (Exception)
            {
                // It ended, by a fault or a cancellation: the caller awaits it for that.
            }
            return true;
        }
    }
}
