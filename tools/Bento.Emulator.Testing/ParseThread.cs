using System;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;

namespace Bento.Emulator
{
    /// <summary>
    /// One thread, for the whole process, that parses and judges request bodies one at a time. A JsonDocument of a 10 MB
    /// body of small tokens rents about 150 MB of metadata from the shared array pool, which keeps what each thread gives
    /// back: parsed on every pool thread, that would stay resident once per thread (1.1 GB measured through eight
    /// concurrent batches); parsed here, once.
    /// </summary>
    internal static class ParseThread
    {
        private static readonly BlockingCollection<Action> Work = new BlockingCollection<Action>();

        static ParseThread()
        {
            var thread = new Thread(() => { foreach (var item in Work.GetConsumingEnumerable()) item(); })
            { IsBackground = true, Name = "Bento emulator body parser" };
            thread.Start();
        }

        /// <summary>Runs <paramref name="work"/> on the parse thread, after the bodies queued before it.</summary>
        public static Task<T> RunAsync<T>(Func<T> work)
        {
            var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            Work.Add(() =>
            {
                try { done.SetResult(work()); }
                catch (Exception e) { done.SetException(e); }
            });
            return done.Task;
        }
    }
}
