using System;
using System.Diagnostics;
using System.Threading.Tasks;

namespace BentoSinks.Testing
{
    /// <summary>
    /// Real-time waits on a condition, for what no fake clock and no emulator signal drives (files on disk, a thread's
    /// state, a task). A test waits for the thing it needs to have happened, never for a time: the limit only keeps
    /// a broken build from hanging, and is generous so that a busy machine is never mistaken for a failure.
    /// </summary>
    internal static class Eventually
    {
        /// <summary>The longest a condition is waited for unless a test says otherwise.</summary>
        public static readonly TimeSpan DefaultLimit = TimeSpan.FromSeconds(30);

        /// <summary>How often a condition is tested again.</summary>
        private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(5);

        /// <summary>Whether <paramref name="done"/> held within <paramref name="limit"/> (real time; <see cref="DefaultLimit"/> by default).</summary>
        public static async Task<bool> Reached(Func<bool> done, TimeSpan? limit = null)
        {
            var waited = Stopwatch.StartNew();
            var max = limit ?? DefaultLimit;
            while (!done())
            {
                if (waited.Elapsed >= max) return done();
                await Task.Delay(Poll).ConfigureAwait(false);
            }
            return true;
        }

        /// <summary>Waits until <paramref name="done"/> holds; fails the test (with <paramref name="state"/>, when given) past <paramref name="limit"/>.</summary>
        public static async Task Until(Func<bool> done, TimeSpan? limit = null, Func<string>? state = null)
        {
            if (!await Reached(done, limit).ConfigureAwait(false))
                Assert.Fail("condition not reached in time" + (state is null ? "" : ": " + state()));
        }

        /// <summary>Whether <paramref name="task"/> completed (in any state: its outcome is the caller's to check) within <paramref name="limit"/>.</summary>
        public static async Task<bool> Completes(Task task, TimeSpan limit)
        {
            try { await task.WaitAsync(limit).ConfigureAwait(false); }
            catch (TimeoutException) when (!task.IsCompleted) { return false; }
            catch (Exception) when (task.IsCompleted) { /* faulted or cancelled: completed all the same */ }
            return true;
        }
    }
}
