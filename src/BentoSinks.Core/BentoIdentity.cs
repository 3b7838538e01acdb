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

        private static readonly AsyncLocal<BentoIdentity?> Ambient = new AsyncLocal<BentoIdentity?>();

        /// <summary>An identity; the email must look like an email address.</summary>
        /// <param name="email">The user's email, Bento's <c>email</c>.</param>
        /// <param name="firstName">The user's first name (the <c>first_name</c> field), or null.</param>
        /// <param name="lastName">The user's last name (the <c>last_name</c> field), or null.</param>
        /// <exception cref="ArgumentException">The email does not look like an email address (the message does not quote it).</exception>
        public BentoIdentity(string email, string? firstName = null, string? lastName = null)
        {
            if (!EmailAddress.LooksValid(email)) throw new ArgumentException("The identity's email must look like an email address.", nameof(email));
            Email = email;
            FirstName = string.IsNullOrEmpty(firstName) ? null : firstName;
            LastName = string.IsNullOrEmpty(lastName) ? null : lastName;
        }

        /// <summary>The user's email.</summary>
        public string Email { get; }

        /// <summary>The user's first name, or null.</summary>
        public string? FirstName { get; }

        /// <summary>The user's last name, or null.</summary>
        public string? LastName { get; }

        /// <summary>The identity of the current asynchronous flow, or null.</summary>
        public static BentoIdentity? Current => Ambient.Value;

        /// <summary>
        /// Makes a user the identity of the current asynchronous flow (and of the work it starts) until the returned scope
        /// is disposed, when the previous identity comes back. An email that is null, empty or does not look like an email
        /// pushes no identity: events in the scope are then identified only by their own email.
        /// </summary>
        /// <param name="email">The user's email.</param>
        /// <param name="firstName">The user's first name, or null.</param>
        /// <param name="lastName">The user's last name, or null.</param>
        /// <returns>The scope; dispose it where the unit of work ends.</returns>
        public static IDisposable Push(string? email, string? firstName = null, string? lastName = null)
            => Push(EmailAddress.LooksValid(email) ? new BentoIdentity(email!, firstName, lastName) : null);

        /// <summary>Makes <paramref name="identity"/> (or none, when null) the current identity until the scope is disposed.</summary>
        /// <param name="identity">The identity, or null for none.</param>
        /// <returns>The scope; dispose it where the unit of work ends.</returns>
        public static IDisposable Push(BentoIdentity? identity)
        {
            var scope = new Scope(Ambient.Value);
            Ambient.Value = identity;
            return scope;
        }

        /// <summary>Never the email or the names.</summary>
        /// <returns>A description without personal data.</returns>
        public override string ToString() => "BentoIdentity { Email = ***" + (FirstName != null ? ", FirstName = ***" : "") + (LastName != null ? ", LastName = ***" : "") + " }";

        /// <summary>
        /// Attaches this identity to an activity as a custom property (never exported), so its analytics events, and those
        /// of its in-process children, are identified when the activity ends after the identity's scope (a request's activity
        /// ends after the middleware that pushed the identity has returned).
        /// </summary>
        internal void AttachTo(Activity activity) => activity.SetCustomProperty(ActivityPropertyName, this);

        /// <summary>The identity attached to the activity or to its nearest in-process parent, or null.</summary>
        internal static BentoIdentity? AttachedTo(Activity? activity)
        {
            for (var a = activity; a != null; a = a.Parent)
            {
                if (a.GetCustomProperty(ActivityPropertyName) is BentoIdentity identity) return identity;
            }
            return null;
        }

        private sealed class Scope : IDisposable
        {
            private readonly BentoIdentity? _previous;
            private int _disposed;

            public Scope(BentoIdentity? previous) => _previous = previous;

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _disposed, 1) == 0) Ambient.Value = _previous;
            }
        }
    }
}
