using System.Collections.Generic;
using System.Diagnostics;

namespace BentoSinks
{
    /// <summary>
    /// Which events of one activity were recorded while one <see cref="BentoIdentity"/> scope was open on it. A scope is open
    /// on an activity from the activity's start while the scope is current, or from when it is pushed while the activity
    /// (or a descendant) is current, until the scope ends; the segment notes the activity's event count at both ends. An
    /// activity's events are resolved when it ends, possibly in another scope or another flow, and an activity does not
    /// say which flow recorded an event, so an event is someone's only when no flow without that user's scope can have
    /// recorded it: the activity started inside a live scope (or is the request's activity of <c>UseBentoIdentity</c>),
    /// the event came before any scope open on the activity ended (from then on, work that copied that scope records as
    /// nobody), and every scope open on it when it was recorded is that user's. Otherwise it is no one's.
    /// </summary>
    internal sealed class IdentitySegment
    {
        private const string PropertyName = "BentoSinks.IdentitySegments";
        private static readonly object Gate = new object();

        private readonly Activity _activity;
        private readonly State _state;
        private readonly int _start;
        private int _end = int.MaxValue; // open; written and read under Gate

        private IdentitySegment(Activity activity, State state, BentoIdentity? identity, int start)
        {
            _activity = activity;
            _state = state;
            Identity = identity;
            _start = start;
        }

        /// <summary>The identity the scope pushed (null: nobody).</summary>
        public BentoIdentity? Identity { get; }

        /// <summary>The activity the segment is on.</summary>
        public Activity Activity => _activity;

        /// <summary>What one activity knows of the scopes that were open on it.</summary>
        private sealed class State
        {
            public readonly List<IdentitySegment> Segments = new List<IdentitySegment>(1);

            /// <summary>Started inside a live scope, or the request's activity of <c>UseBentoIdentity</c>: no flow without a scope had it from the start.</summary>
            public bool Owned;

            /// <summary>The scope (its holder) the activity started in, or that attached it (the request's); null when none.</summary>
            public object? Owner;

            /// <summary>A scope open on the activity ended while it ran: from this event on, work that copied that scope may record on it as nobody.</summary>
            public int AmbiguousFrom = int.MaxValue;
        }

        /// <summary>
        /// Opens a segment of a scope on <paramref name="activity"/> at its current event count (the scope's holder opens it:
        /// <see cref="BentoIdentityHolder.OpenOn"/>, and closes it when the scope ends). <paramref name="owner"/>: the scope
        /// was current when the activity started (or is the request's, attached by <c>UseBentoIdentity</c>).
        /// </summary>
        public static IdentitySegment Open(Activity activity, BentoIdentity? identity, bool owner, object holder)
        {
            var start = CountEvents(activity);
            lock (Gate)
            {
                var state = StateOf(activity);
                if (owner) Own(state, holder);
                var segment = new IdentitySegment(activity, state, identity, start);
                state.Segments.Add(segment);
                return segment;
            }
        }

        /// <summary>Marks the activity as owned by a scope already open on it (see <see cref="Open"/>).</summary>
        public static void Own(Activity activity, object holder)
        {
            lock (Gate) Own(StateOf(activity), holder);
        }

        private static void Own(State state, object holder)
        {
            state.Owned = true;
            state.Owner ??= holder;
        }

        /// <summary>
        /// Whether <paramref name="ancestor"/> belongs to another unit of work than <paramref name="activity"/>: both were
        /// started in (or attached to) a scope, and not the same one. A job's activity started in <c>Push(job.Owner)</c> by a
        /// consumer that Ada's request started lazily has Ada's live request activity as an in-process parent: that parent's
        /// tags (Ada's <c>user.email</c>) describe Ada's request, not the job.
        /// </summary>
        public static bool OtherScopes(Activity activity, Activity ancestor)
        {
            lock (Gate)
            {
                var own = OwnerOf(activity);
                var other = OwnerOf(ancestor);
                return own != null && other != null && !ReferenceEquals(own, other);
            }
        }

        /// <summary>Whether a scope owns the activity and <paramref name="current"/> (the ending flow's scope) is not that scope.</summary>
        public static bool OwnedElsewhere(Activity activity, object? current)
        {
            lock (Gate)
            {
                var own = OwnerOf(activity);
                return own != null && !ReferenceEquals(own, current);
            }
        }

        /// <summary>The scope that owns <paramref name="activity"/>, or null. Under <see cref="Gate"/>.</summary>
        private static object? OwnerOf(Activity activity) => activity.GetCustomProperty(PropertyName) is State state ? state.Owner : null;

        /// <summary>
        /// Closes the segment: events recorded from now on are not the scope's. On an activity still running, the events
        /// recorded from now on may come from work that copied the scope (it now sees nobody): they are no one's. A segment
        /// in which no event was recorded is forgotten, so a long-lived activity over many scopes keeps only those that matter.
        /// </summary>
        public void Close()
        {
            var end = CountEvents(_activity);
            var running = _activity.Duration == System.TimeSpan.Zero;
            lock (Gate)
            {
                _end = end;
                if (running && end < _state.AmbiguousFrom) _state.AmbiguousFrom = end;
                if (end <= _start) _state.Segments.Remove(this);
            }
        }

        /// <summary>
        /// Who recorded the event at <paramref name="eventIndex"/> of <paramref name="activity"/>: the identity of the scopes
        /// open on it when it was recorded, when the activity is owned, the event came before any of its scopes ended, and
        /// they all agree; otherwise null (nobody).
        /// </summary>
        public static BentoIdentity? Find(Activity activity, int eventIndex)
        {
            lock (Gate)
            {
                if (activity.GetCustomProperty(PropertyName) is not State state || !state.Owned || eventIndex >= state.AmbiguousFrom) return null;
                BentoIdentity? identity = null;
                var found = false;
                foreach (var segment in state.Segments)
                {
                    if (eventIndex < segment._start || eventIndex >= segment._end) continue;
                    if (!found)
                    {
                        found = true;
                        identity = segment.Identity;
                    }
                    else if (!Same(identity, segment.Identity))
                    {
                        return null; // two users' scopes were open when it was recorded: no one's
                    }
                }
                return identity;
            }
        }

        private static State StateOf(Activity activity)
        {
            if (activity.GetCustomProperty(PropertyName) is not State state)
            {
                state = new State();
                activity.SetCustomProperty(PropertyName, state);
            }
            return state;
        }

        private static bool Same(BentoIdentity? a, BentoIdentity? b)
            => ReferenceEquals(a, b) || (a != null && b != null && string.Equals(a.Email, b.Email, System.StringComparison.OrdinalIgnoreCase));

        private static int CountEvents(Activity activity)
        {
            var count = 0;
            foreach (ref readonly var _ in activity.EnumerateEvents()) count++;
            return count;
        }
    }
}
