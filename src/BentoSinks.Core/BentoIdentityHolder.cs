using System.Diagnostics;
using System.Threading;

namespace BentoSinks
{
    /// <summary>
    /// What <see cref="BentoIdentity"/>'s async-local holds for one scope: the identity (or "nobody"), cleared when the scope
    /// ends. Every execution context copied during the scope (<c>Task.Run</c>, a timer, a consumer started lazily) holds this
    /// same object, so ending the scope ends the identity everywhere it was copied (ASP.NET Core's <c>HttpContextAccessor</c>
    /// does the same). The holder attached to a request's activity is this one too; for that activity's own events only, it
    /// remembers how many events the activity had when the scope ended, so events recorded during the request keep the user
    /// when the activity ends afterwards, and events added later do not.
    /// </summary>
    internal sealed class BentoIdentityHolder
    {
        private readonly BentoIdentity? _identity;
        private readonly Activity? _activity;
        private int _eventsBeforeEnd = -1; // -1 while the scope is live

        public BentoIdentityHolder(BentoIdentity? identity, Activity? activity)
        {
            _identity = identity;
            _activity = activity;
        }

        /// <summary>Whether the scope has ended.</summary>
        public bool Ended => Volatile.Read(ref _eventsBeforeEnd) >= 0;

        /// <summary>The identity while the scope is live; null ("nobody") once it has ended, or when the scope pushed none.</summary>
        public BentoIdentity? Live => Ended ? null : _identity;

        /// <summary>Ends the scope: from now on <see cref="Live"/> is null in every copied context.</summary>
        public void End()
        {
            if (Ended) return;
            var count = 0;
            if (_activity != null)
            {
                foreach (ref readonly var _ in _activity.EnumerateEvents()) count++;
            }
            Volatile.Write(ref _eventsBeforeEnd, count);
        }

        /// <summary>
        /// The identity for the event at <paramref name="eventIndex"/> of <paramref name="activity"/> (the activity this
        /// holder is attached to, or a descendant): the identity while the scope is live; after it ended, only for the
        /// attached activity's own events recorded before the end, never for a descendant's (work that outlived the request).
        /// </summary>
        public BentoIdentity? ForEvent(Activity activity, int eventIndex)
        {
            var before = Volatile.Read(ref _eventsBeforeEnd);
            if (before < 0) return _identity;
            return ReferenceEquals(activity, _activity) && eventIndex < before ? _identity : null;
        }
    }
}
