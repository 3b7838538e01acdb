using System;
using System.Diagnostics;
using System.Threading;

namespace BentoSinks
{
    /// <summary>
    /// The signed-in user of the current unit of work (a request, a queue message), whose email and names identify every
    /// analytics event written during it that carries no email of its own: through Serilog, OpenTelemetry activity events
    /// and OpenTelemetry log records alike. Ambient and async-local: set it once with <see cref="Push(string?, string?, string?)"/>
    /// (ASP.NET Core: <c>app.UseBentoIdentity()</c> from <c>BentoSinks.AspNetCore</c> does it for each request).
    /// </summary>
    /// <remarks>
    /// An email set on the event itself (a property, an attribute, a tag, log context, a scope, baggage) always wins; the
    /// identity is the last source looked up, and its names fill <c>first_name</c>/<c>last_name</c> only for an event it
    /// identified. <see cref="ToString"/> never shows the email or the names: they are personal data.
    /// </remarks>
    public sealed class BentoIdentity
    {
        /// <summary>The key of the custom property (never exported) under which an activity carries its identity.</summary>
        internal const string ActivityPropertyName = "BentoSinks.Identity";

        // A holder, not the identity: ending a scope clears it in every execution context copied during the scope.
        private static readonly AsyncLocal<BentoIdentityHolder?> Ambient = new AsyncLocal<BentoIdentityHolder?>();

        /// <summary>
        /// The longest first or last name an identity keeps (256 characters). A longer name (a hostile or broken claim) is
        /// left out, so the user's events stay deliverable; it is counted on the <c>BentoSinks.Core</c> meter as
        /// <c>bento.identity.values_omitted</c> with <c>reason</c> = <c>name_too_long</c>.
        /// </summary>
        public const int MaxNameLength = 256;

        /// <summary>
        /// An identity; the email must look like an email address (no control, format, bidi-override or invisible
        /// characters). A name longer than <see cref="MaxNameLength"/> is left out.
        /// </summary>
        /// <param name="email">The user's email, Bento's <c>email</c>.</param>
        /// <param name="firstName">The user's first name (the <c>first_name</c> field), or null.</param>
        /// <param name="lastName">The user's last name (the <c>last_name</c> field), or null.</param>
        /// <exception cref="ArgumentException">The email does not look like an email address (the message does not quote it).</exception>
        public BentoIdentity(string email, string? firstName = null, string? lastName = null)
        {
            if (!EmailAddress.LooksValid(email)) throw new ArgumentException("The identity's email must look like an email address.", nameof(email));
            Email = email;
            FirstName = Name(firstName);
            LastName = Name(lastName);
        }

        private static string? Name(string? name)
        {
            if (string.IsNullOrEmpty(name)) return null;
            if (name!.Length <= MaxNameLength) return name;
            Diagnostics.IdentityMetrics.ValueOmitted(Diagnostics.IdentityMetrics.NameTooLong);
            return null;
        }

        /// <summary>The user's email.</summary>
        public string Email { get; }

        /// <summary>The user's first name, or null.</summary>
        public string? FirstName { get; }

        /// <summary>The user's last name, or null.</summary>
        public string? LastName { get; }

        /// <summary>
        /// The identity of the current asynchronous flow, or null: none was pushed, <see cref="Push(BentoIdentity?)"/> pushed
        /// null ("nobody"), or the scope that pushed it has ended (also in work that copied the flow during the scope).
        /// </summary>
        public static BentoIdentity? Current => Ambient.Value?.Live;

        /// <summary>
        /// Makes a user the identity of the current asynchronous flow (and of the work it starts) until the returned scope
        /// is disposed. Disposing the scope ends the identity everywhere the flow was copied during the scope (a task, a
        /// timer, a consumer started inside it: they see no identity from then on), then brings the previous scope back in
        /// the disposing flow. An email that is null, empty or does not look like an email pushes "nobody": events in the
        /// scope are then identified only by their own email.
        /// </summary>
        /// <param name="email">The user's email.</param>
        /// <param name="firstName">The user's first name, or null.</param>
        /// <param name="lastName">The user's last name, or null.</param>
        /// <returns>The scope; dispose it where the unit of work ends.</returns>
        public static IDisposable Push(string? email, string? firstName = null, string? lastName = null)
            => Push(EmailAddress.LooksValid(email) ? new BentoIdentity(email!, firstName, lastName) : null);

        /// <summary>
        /// Makes <paramref name="identity"/> the current identity until the scope is disposed; null means "nobody" on every
        /// path (Serilog events, activity events, log records), hiding any identity of an outer scope or of a request.
        /// To carry a user into background work on purpose, capture <see cref="Current"/> with the job and push it where
        /// the job runs.
        /// </summary>
        /// <param name="identity">The identity, or null for nobody.</param>
        /// <returns>The scope; dispose it where the unit of work ends.</returns>
        public static IDisposable Push(BentoIdentity? identity) => new Scope(identity, null);

        /// <summary>
        /// As <see cref="Push(BentoIdentity?)"/>, and attaches the scope to <paramref name="activity"/> (a request's
        /// activity, which ends after the scope): its events recorded during the scope keep the identity.
        /// </summary>
        internal static IDisposable Push(BentoIdentity? identity, Activity? activity) => new Scope(identity, activity);

        /// <summary>
        /// For a log event or record written now (Serilog, OpenTelemetry logs): the ambient scope's live identity (null when
        /// it pushed nobody or has ended); without any scope in this flow, the live identity attached to
        /// <paramref name="activity"/> or a parent. Never an ended scope's identity.
        /// </summary>
        internal static BentoIdentity? ForLog(Activity? activity)
        {
            var ambient = Ambient.Value;
            if (ambient != null) return ambient.Live;
            return HolderOf(activity)?.Live;
        }

        /// <summary>
        /// For the event at <paramref name="eventIndex"/> of an ending activity: the user of the scopes open on the activity
        /// when it was recorded, never the user of the scope the activity happens to end in. Nobody unless no flow without
        /// that user's scope can have recorded it (<see cref="IdentitySegment"/>): the activity started inside a live scope
        /// (or is the request's activity of <c>UseBentoIdentity</c>), the event came before any scope open on it ended, and
        /// every scope open on it when it was recorded is that user's.
        /// </summary>
        internal static BentoIdentity? ForActivityEvent(Activity activity, int eventIndex) => IdentitySegment.Find(activity, eventIndex);

        /// <summary>Whether <paramref name="ancestor"/>'s tags belong to another scope's work than <paramref name="activity"/> (both started in different scopes).</summary>
        internal static bool OtherScopes(Activity activity, Activity ancestor) => IdentitySegment.OtherScopes(activity, ancestor);

        /// <summary>
        /// Whether <paramref name="activity"/> ends outside the scope that owns it (started it, or attached it): then the
        /// ending flow's ambient values (<c>Baggage.Current</c>) are another flow's, never the activity's.
        /// </summary>
        internal static bool EndsOutsideItsScope(Activity activity) => IdentitySegment.OwnedElsewhere(activity, Ambient.Value);

        /// <summary>
        /// An activity recorded by a Bento trace exporter has started: the current scope, if live, is open on it and owns it
        /// (the events recorded on it while the scope lasts are the scope's, wherever the activity ends).
        /// </summary>
        internal static void ActivityStarted(Activity activity)
        {
            if (Ambient.Value is { Ended: false } holder) holder.OpenOn(activity, owner: true);
        }

        /// <summary>Never the email or the names.</summary>
        /// <returns>A description without personal data.</returns>
        public override string ToString() => "BentoIdentity { Email = ***" + (FirstName != null ? ", FirstName = ***" : "") + (LastName != null ? ", LastName = ***" : "") + " }";

        /// <summary>The scope attached to the activity or to its nearest in-process parent, or null.</summary>
        private static BentoIdentityHolder? HolderOf(Activity? activity)
        {
            for (var a = activity; a != null; a = a.Parent)
            {
                if (a.GetCustomProperty(ActivityPropertyName) is BentoIdentityHolder holder) return holder;
            }
            return null;
        }

        private sealed class Scope : IDisposable
        {
            private readonly BentoIdentityHolder? _previous;
            private readonly BentoIdentityHolder _holder;
            private int _disposed;

            public Scope(BentoIdentity? identity, Activity? activity)
            {
                _previous = Ambient.Value;
                _holder = new BentoIdentityHolder(identity);
                activity?.SetCustomProperty(ActivityPropertyName, _holder);
                Ambient.Value = _holder;
                if (activity != null) _holder.OpenOn(activity, owner: true); // the request's activity: the request pipeline started it
                _holder.OpenOnChain(Activity.Current);
            }

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
                _holder.End(); // every copied context now sees nobody; its segments close
                // Only the flow where this scope is current gets the previous scope back. Disposed out of order (an inner
                // scope is still open) or in another flow, writing the previous scope would hand that flow someone else:
                // the outer user over a still-open inner scope, or the user of the flow that pushed this scope. That flow
                // keeps its current scope (an open inner one, or this one, ended: nobody): no one rather than the wrong person.
                if (ReferenceEquals(Ambient.Value, _holder)) Ambient.Value = _previous;
            }
        }
    }
}
