using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;

namespace BentoSinks
{
    /// <summary>
    /// Which events of one activity were recorded while one <see cref="BentoIdentity"/> scope was open: a scope pushed while
    /// an activity is current (or an ancestor of it) notes the activity's event count when it opens and when it ends. An
    /// activity's events are resolved when it ends, possibly in another scope (an admin's around a customer's, or none):
    /// an event recorded inside scopes says who recorded it. Overlapping scopes of different users (concurrent flows on a
    /// shared activity, or nested scopes) cannot be told apart by the event's position: such an event is no one's.
    /// </summary>
    internal sealed class IdentitySegment
    {
        private const string PropertyName = "BentoSinks.IdentitySegments";
        private static readonly object Gate = new object();

        private readonly Activity _activity;
        private readonly int _start;
        private int _end = int.MaxValue; // open

        private IdentitySegment(Activity activity, BentoIdentity? identity, int start)
        {
            _activity = activity;
            Identity = identity;
            _start = start;
        }

        /// <summary>The identity the scope pushed (null: nobody).</summary>
        public BentoIdentity? Identity { get; }

        /// <summary>Opens a segment on the current activity and on each of its in-process ancestors; null when there is no current activity.</summary>
        public static IdentitySegment[]? OpenOnCurrent(BentoIdentity? identity)
        {
            var current = Activity.Current;
            if (current is null) return null;
            var segments = new List<IdentitySegment>(2);
            for (var a = current; a != null; a = a.Parent)
            {
                if (a.Duration != System.TimeSpan.Zero) continue; // stopped: its events have been resolved
                var segment = new IdentitySegment(a, identity, CountEvents(a));
                lock (Gate)
                {
                    if (a.GetCustomProperty(PropertyName) is not List<IdentitySegment> list)
                    {
                        list = new List<IdentitySegment>(1);
                        a.SetCustomProperty(PropertyName, list);
                    }
                    list.Add(segment);
                }
                segments.Add(segment);
            }
            return segments.ToArray();
        }

        /// <summary>
        /// Closes the segment: events recorded from now on are not the scope's. A segment in which no event was recorded is
        /// forgotten, so a long-lived activity over many scopes (a worker's) keeps only the segments that matter.
        /// </summary>
        public void Close()
        {
            var end = CountEvents(_activity);
            Volatile.Write(ref _end, end);
            if (end > _start) return;
            lock (Gate)
            {
                if (_activity.GetCustomProperty(PropertyName) is List<IdentitySegment> list) list.Remove(this);
            }
        }

        /// <summary>
        /// For the event at <paramref name="eventIndex"/> of <paramref name="activity"/>: whether it was recorded inside one or
        /// more scopes (false: none says, resolve it as before), and then who recorded it: the identity all those scopes agree
        /// on, or null (nobody) when they disagree.
        /// </summary>
        public static bool TryFind(Activity activity, int eventIndex, out BentoIdentity? identity)
        {
            identity = null;
            IdentitySegment[] segments;
            lock (Gate)
            {
                if (activity.GetCustomProperty(PropertyName) is not List<IdentitySegment> list) return false;
                segments = list.ToArray();
            }
            var found = false;
            foreach (var segment in segments)
            {
                if (eventIndex < segment._start || eventIndex >= Volatile.Read(ref segment._end)) continue;
                if (!found)
                {
                    found = true;
                    identity = segment.Identity;
                }
                else if (!Same(identity, segment.Identity))
                {
                    identity = null; // two users' scopes were open when it was recorded: no one's
                    return true;
                }
            }
            return found;
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
