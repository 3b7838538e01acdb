using System;
using System.Diagnostics;

namespace BentoSinks.Testing
{
    /// <summary>
    /// Tells a stuck pipeline from a slow machine while a test pumps a fake clock: a value (requests, events settled)
    /// counts as stalled only when it has not changed for a number of pump steps <em>and</em> for a generous stretch of
    /// real time. A busy machine can leave the loop unscheduled for many fast pump steps; it never leaves it idle for
    /// <see cref="DefaultRealTime"/>.
    /// </summary>
    internal sealed class Progress
    {
        /// <summary>How long, in real time, nothing may move before the value counts as stalled.</summary>
        public static readonly TimeSpan DefaultRealTime = TimeSpan.FromSeconds(15);

        private readonly Func<long> _value;
        private readonly Stopwatch _since = Stopwatch.StartNew();
        private long _last = -1;
        private int _still;

        public Progress(Func<long> value) => _value = value;

        /// <summary>Called once per pump step: true when the value has not changed for <paramref name="steps"/> steps and <paramref name="realTime"/> (default <see cref="DefaultRealTime"/>).</summary>
        public bool StalledFor(int steps, TimeSpan? realTime = null)
        {
            var now = _value();
            if (now != _last)
            {
                _last = now;
                _still = 0;
                _since.Restart();
                return false;
            }
            return ++_still >= steps && _since.Elapsed >= (realTime ?? DefaultRealTime);
        }

        /// <summary>How long, in real time, the value has not changed.</summary>
        public TimeSpan Still => _since.Elapsed;
    }
}
