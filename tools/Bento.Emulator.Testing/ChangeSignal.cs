using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace Bento.Emulator
{
    /// <summary>
    /// The emulator's one change signal and its one wait primitive: every route calls <see cref="Notify"/> after it has
    /// recorded something, and every wait (for events, for requests, for the answer in progress before the fake clock
    /// moves) is <see cref="WaitUntilAsync"/> on a condition.
    /// </summary>
    internal sealed class ChangeSignal
    {
        private TaskCompletionSource<bool> _changed = NewSource();

        /// <summary>Wakes every waiter: call it after the change is visible to the conditions they test.</summary>
        public void Notify() => Interlocked.Exchange(ref _changed, NewSource()).TrySetResult(true);

        /// <summary>
        /// Waits until <paramref name="condition"/> holds, testing it again at every <see cref="Notify"/> (and every
        /// <paramref name="poll"/>, for a condition that also reads something outside the emulator); returns false when
        /// <paramref name="timeout"/> (real time) passes, or <paramref name="cancellationToken"/> is cancelled, first.
        /// </summary>
        public async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout, TimeSpan? poll = null, CancellationToken cancellationToken = default)
        {
            var elapsed = Stopwatch.StartNew();
            using var expired = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            expired.CancelAfter(timeout);
            var timedOut = Task.Delay(Timeout.Infinite, expired.Token);
            while (true)
            {
                // Take the signal before testing: a change after the test completes this very task.
                var changed = Volatile.Read(ref _changed).Task;
                if (condition()) return true;
                if (elapsed.Elapsed >= timeout || cancellationToken.IsCancellationRequested) return false;
                var woken = poll is { } interval
                    ? await Task.WhenAny(changed, timedOut, Task.Delay(interval, CancellationToken.None)).ConfigureAwait(false)
                    : await Task.WhenAny(changed, timedOut).ConfigureAwait(false);
                if (woken == timedOut) return condition();
            }
        }

        private static TaskCompletionSource<bool> NewSource() => new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
