using System;

namespace BentoSinks.Testing
{
    /// <summary>Counts the pump's steps during which a value did not change.</summary>
    internal sealed class Progress
    {
        private readonly Func<int> _value;
        private int _last = -1;
        private int _still;
        public Progress(Func<int> value) => _value = value;

        /// <summary>Called once per pump step: true when the value has not changed for <paramref name="steps"/> steps.</summary>
        public bool StalledFor(int steps)
        {
            var now = _value();
            if (now != _last) { _last = now; _still = 0; return false; }
            return ++_still >= steps;
        }
    }
}
