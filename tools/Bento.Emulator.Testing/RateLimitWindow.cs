using System;
using System.Collections.Generic;

namespace Bento.Emulator
{
    /// <summary>Bento's rate limit: at most <see cref="BentoEmulatorOptions.RateLimitPerMinute"/> requests in any 60 seconds of the emulator's clock.</summary>
    internal sealed class RateLimitWindow
    {
        private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
        private readonly BentoEmulatorOptions _options;
        private readonly Queue<DateTimeOffset> _taken = new Queue<DateTimeOffset>();

        public RateLimitWindow(BentoEmulatorOptions options) => _options = options;

        /// <summary>Takes a slot for a request now; when none is free, says in how many seconds one will be (for <c>Retry-After</c>).</summary>
        public bool TryTake(out int retryAfterSeconds)
        {
            retryAfterSeconds = 0;
            if (_options.RateLimitPerMinute is not { } limit) return true;
            var now = _options.TimeProvider.GetUtcNow();
            lock (_taken)
            {
                while (_taken.Count > 0 && now - _taken.Peek() >= Window) _taken.Dequeue();
                if (_taken.Count >= limit)
                {
                    var wait = _taken.Peek() + Window - now;
                    retryAfterSeconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
                    return false;
                }
                _taken.Enqueue(now);
                return true;
            }
        }
    }
}
