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
        public static Task<(int Cases, int BaseSeed)> RunAsync(string prefix, int defaultCases, Func<int, StringBuilder, Task> runCase)
            => RunAsync(prefix + "_SEED", prefix + "_CASES", defaultCases, runCase);

        /// <summary>As <see cref="RunAsync(string, int, Func{int, StringBuilder, Task})"/>, with the two variables named in full.</summary>
        public static async Task<(int Cases, int BaseSeed)> RunAsync(string seedVariable, string casesVariable, int defaultCases, Func<int, StringBuilder, Task> runCase)
        {
            var cases = int.TryParse(Environment.GetEnvironmentVariable(casesVariable), out var n) && n > 0 ? n : defaultCases;
            var only = ReplayedSeed(seedVariable);
            var baseSeed = only ?? Environment.TickCount;
            var count = only is null ? cases : 1;
            for (var i = 0; i < count; i++) await RunOneWithAsync(seedVariable, unchecked(baseSeed + i * 7919), runCase);
            return (count, baseSeed);
        }

        /// <summary>The seed <paramref name="seedVariable"/> names for a replay, or null.</summary>
        public static int? ReplayedSeed(string seedVariable)
            => int.TryParse(Environment.GetEnvironmentVariable(seedVariable), out var s) ? s : null;

        /// <summary>Runs the case of one seed (a fixed regression seed, or a replay), failing with the seed and how to replay it.</summary>
        public static Task RunOneAsync(string prefix, int seed, Func<int, StringBuilder, Task> runCase)
            => RunOneWithAsync(prefix + "_SEED", seed, runCase);

        private static async Task RunOneWithAsync(string seedVariable, int seed, Func<int, StringBuilder, Task> runCase)
        {
            var trace = new StringBuilder();
            try
            {
                await runCase(seed, trace);
            }
            catch (Exception ex)
            {
                throw new Xunit.Sdk.XunitException($"seed {seed} failed (replay it alone: {seedVariable}={seed}): {ex.Message}\n--- steps ---\n{trace}\n{ex}");
            }
        }
    }
}
