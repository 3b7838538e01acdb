using System;
using System.Text;
using System.Threading.Tasks;

namespace BentoSinks.Testing
{
    /// <summary>
    /// The seed plumbing of a randomized test: many cases seeded from a base seed that changes with every run (so CI keeps
    /// exploring), or one case replayed from an environment variable. A failure names its seed, the variable that replays
    /// it, and the case's trace. <c>{prefix}_CASES</c> sets how many cases run; <c>{prefix}_SEED</c> runs that seed alone.
    /// </summary>
    internal static class SeededRuns
    {
        /// <summary>Runs <paramref name="defaultCases"/> seeded cases (or the environment's count, or the one seed it names).</summary>
        /// <param name="prefix">The environment variables' prefix, e.g. <c>BENTO_IDENTITY</c>.</param>
        /// <param name="defaultCases">How many cases run when <c>{prefix}_CASES</c> is not set.</param>
        /// <param name="runCase">Runs the case of a seed, writing its steps to the trace shown when it fails.</param>
        /// <returns>How many cases ran, and the base seed.</returns>
        public static async Task<(int Cases, int BaseSeed)> RunAsync(string prefix, int defaultCases, Func<int, StringBuilder, Task> runCase)
        {
            var cases = int.TryParse(Environment.GetEnvironmentVariable(prefix + "_CASES"), out var n) && n > 0 ? n : defaultCases;
            int? only = int.TryParse(Environment.GetEnvironmentVariable(prefix + "_SEED"), out var s) ? s : null;
            var baseSeed = only ?? Environment.TickCount;
            var count = only is null ? cases : 1;
            for (var i = 0; i < count; i++) await RunOneAsync(prefix, unchecked(baseSeed + i * 7919), runCase);
            return (count, baseSeed);
        }

        /// <summary>Runs the case of one seed (a fixed regression seed, or a replay), failing with the seed and how to replay it.</summary>
        public static async Task RunOneAsync(string prefix, int seed, Func<int, StringBuilder, Task> runCase)
        {
            var trace = new StringBuilder();
            try
            {
                await runCase(seed, trace);
            }
            catch (Exception ex)
            {
                throw new Xunit.Sdk.XunitException($"seed {seed} failed (replay it alone: {prefix}_SEED={seed}): {ex.Message}\n--- steps ---\n{trace}\n{ex}");
            }
        }
    }
}
