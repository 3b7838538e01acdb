using System;
using System.Threading;
using System.Threading.Tasks;

namespace BentoSinks.Delivery
{
    internal static class TimeExtensions
    {
        /// <summary>The longest single wait: timers throw past about 49.7 days, so every delay is clamped well below.</summary>
        public static readonly TimeSpan MaxDelay = TimeSpan.FromDays(7);

        public static Task DelayAsync(this TimeProvider time, TimeSpan delay, CancellationToken token)
        {
            if (delay <= TimeSpan.Zero) return Task.CompletedTask;
            if (delay > MaxDelay) delay = MaxDelay;
#if NET8_0_OR_GREATER
            return Task.Delay(delay, time, token);
#else
            return time.Delay(delay, token);
#endif
        }

        public static CancellationTokenSource CreateTimeoutSource(this TimeProvider time, TimeSpan delay)
        {
            if (delay > MaxDelay) delay = MaxDelay;
#if NET8_0_OR_GREATER
            return new CancellationTokenSource(delay, time);
#else
            return time.CreateCancellationTokenSource(delay);
#endif
        }

        /// <summary>Awaits <paramref name="task"/> or the token, whichever comes first.</summary>
        public static async Task WaitWithCancellation(this Task task, CancellationToken token)
        {
#if NET8_0_OR_GREATER
            await task.WaitAsync(token).ConfigureAwait(false);
#else
            if (!token.CanBeCanceled || task.IsCompleted) { await task.ConfigureAwait(false); return; }
            var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (token.Register(() => cancelled.TrySetResult(true)))
            {
                if (await Task.WhenAny(task, cancelled.Task).ConfigureAwait(false) != task)
                    token.ThrowIfCancellationRequested();
            }
            await task.ConfigureAwait(false);
#endif
        }
    }
}
