using System;
using System.Threading.Tasks;
using Xunit.Abstractions;

namespace BentoSinks.Core.Tests
{
    /// <summary>
    /// The randomized tests' seeds and replay, in one place: each run takes a new base seed, case i runs with
    /// base + i·7919, and a failure names its seed; BENTO_RANDOM_SEED=seed runs that case alone and prints its trace.
    /// </summary>
    internal static class SeededCases
    {
        /// <summary>
        /// Runs the cases (<paramref name="casesVariable"/> overrides <paramref name="defaultCases"/>); <paramref name="run"/>
        /// returns the case's trace and throws on a broken promise. <paramref name="summary"/> adds to the last line.
        /// </summary>
        public static async Task RunAsync(ITestOutputHelper output, string casesVariable, int defaultCases, Func<int, Task<string>> run, Func<string>? summary = null)
        {
            var cases = int.TryParse(Environment.GetEnvironmentVariable(casesVariable), out var n) ? n : defaultCases;
            var only = int.TryParse(Environment.GetEnvironmentVariable("BENTO_RANDOM_SEED"), out var s) ? s : (int?)null;
            var baseSeed = only ?? Environment.TickCount;
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var total = only is null ? cases : 1;
            for (var i = 0; i < total; i++)
            {
                var seed = unchecked(baseSeed + i * 7919);
                string trace;
                try
                {
                    trace = await Task.Run(() => run(seed));
                }
                catch (Exception ex)
                {
                    throw new Xunit.Sdk.XunitException($"seed {seed} failed (rerun: BENTO_RANDOM_SEED={seed}): {ex.Message}\n{ex}");
                }
                if (only != null) output.WriteLine(trace);
            }
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
