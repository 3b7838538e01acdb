using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;

namespace BentoSinks
{
    /// <summary>
    /// What <see cref="BentoIdentity"/>'s async-local holds for one scope: the identity (or "nobody"), cleared when the scope
    /// ends. Every execution context copied during the scope (<c>Task.Run</c>, a timer, a consumer started lazily) holds this
    /// same object, so ending the scope ends the identity everywhere it was copied (ASP.NET Core's <c>HttpContextAccessor</c>
    /// does the same). The holder attached to a request's activity is this one too. It owns the scope's open
    /// <see cref="IdentitySegment"/>s (the activities the scope is open on), and closes them when the scope ends.
    /// </summary>
    internal sealed class BentoIdentityHolder
    {
        private readonly BentoIdentity? _identity;
        private readonly object _gate = new object();
        private List<IdentitySegment>? _segments;
        private int _pruneAt = 32;
        private int _ended;

        public BentoIdentityHolder(BentoIdentity? identity) => _identity = identity;

        /// <summary>Whether the scope has ended.</summary>
        public bool Ended => Volatile.Read(ref _ended) != 0;

        /// <summary>The identity while the scope is live; null ("nobody") once it has ended, or when the scope pushed none.</summary>
        public BentoIdentity? Live => Ended ? null : _identity;

        /// <summary>Ends the scope: from now on <see cref="Live"/> is null in every copied context, and its segments are closed.</summary>
        public void End()
        {
            List<IdentitySegment>? segments;
            lock (_gate)
            {
                if (Ended) return;
                Volatile.Write(ref _ended, 1);
                segments = _segments;
                _segments = null;
            }
            if (segments is null) return;
            foreach (var segment in segments) segment.Close();
        }

        /// <summary>The scope was pushed where <paramref name="current"/> is the current activity: it is open on it and on each in-process ancestor still running.</summary>
        public void OpenOnChain(Activity? current)
        {
            for (var a = current; a != null; a = a.Parent)
            {
                if (a.Duration == System.TimeSpan.Zero) OpenOn(a, owner: false); // a stopped one: its events have been resolved
            }
        }

        /// <summary>
        /// Opens the scope on <paramref name="activity"/>: events recorded on it from now until the scope ends are this
        /// scope's (<see cref="IdentitySegment"/>). <paramref name="owner"/>: the activity started while this scope was
        /// current (or is the request's activity). Nothing once the scope has ended.
        /// </summary>
        public void OpenOn(Activity activity, bool owner)
        {
            lock (_gate)
            {
                if (Ended) return;
                _segments ??= new List<IdentitySegment>(2);
                foreach (var open in _segments)
                {
                    if (!ReferenceEquals(open.Activity, activity)) continue;
                    if (owner) IdentitySegment.Own(activity, this); // already open on it since earlier
                    return;
                }
                _segments.Add(IdentitySegment.Open(activity, _identity, owner, this));
                if (_segments.Count < _pruneAt) return;
                // A scope that lasts (a worker's) over many activities: forget the segments of those that have stopped.
                _segments.RemoveAll(s => s.Activity.Duration != System.TimeSpan.Zero);
                _pruneAt = System.Math.Max(32, _segments.Count * 2);
            }
        }
    }
}
