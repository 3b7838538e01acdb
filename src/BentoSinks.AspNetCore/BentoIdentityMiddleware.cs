using System.Collections.Generic;
using System.Diagnostics;
using System.Security.Claims;
using System.Threading.Tasks;
using BentoSinks.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace BentoSinks.AspNetCore
{
    /// <summary>
    /// Makes the signed-in user the <see cref="BentoIdentity"/> of the rest of the request: pushed for the request's
    /// asynchronous flow (Serilog events, log records, activities ending inside the request) and attached to the request's
    /// activity (its own analytics events recorded during the request, when it ends after this middleware returns). The
    /// identity ends when the rest of the pipeline returns, in every context copied from the request. An anonymous request,
    /// or one whose email claim does not look like an email, gets "nobody".
    /// </summary>
    internal sealed class BentoIdentityMiddleware
    {
        private readonly RequestDelegate _next;
        private readonly BentoIdentityOptions _options;
        private readonly ClaimWarnings _warnings;

        public BentoIdentityMiddleware(RequestDelegate next, BentoIdentityOptions options, ClaimWarnings warnings)
        {
            _next = next;
            _options = options;
            _warnings = warnings;
        }

        public async Task InvokeAsync(HttpContext context)
        {
            var identity = FromUser(context.User, _options, _warnings);
            // Every request gets a scope, "nobody" when anonymous: it never inherits an identity from the flow it runs in.
            // The scope ends when the rest of the pipeline returns: work that copied the request's flow (Task.Run, a
            // timer, a consumer started by this request) sees no identity from then on, nor do Response.OnCompleted
            // callbacks. Attached to the request's activity, which ends later: its events recorded before keep the user.
            var activity = identity is null ? null : context.Features.Get<IHttpActivityFeature>()?.Activity ?? Activity.Current;
            using (BentoIdentity.Push(identity, activity)) await _next(context).ConfigureAwait(false);
        }

        /// <summary>
        /// The identity the claims make, or null: an anonymous user, no email claim, an email claim that does not look like an
        /// email (or hides characters), or one the token marks unverified (<c>email_verified=false</c>) unless
        /// <see cref="BentoIdentityOptions.AllowUnverifiedEmail"/>. A name longer than <see cref="BentoIdentity.MaxNameLength"/>
        /// is left out. Claims are input: each refusal is counted and warned about (<see cref="ClaimWarnings"/>).
        /// </summary>
        internal static BentoIdentity? FromUser(ClaimsPrincipal? user, BentoIdentityOptions options, ClaimWarnings warnings)
        {
            if (user?.Identity?.IsAuthenticated != true) return null;
            var email = Email(user, options.EmailClaimTypes, out var refused);
            if (email is null)
            {
                if (refused) warnings.Report(IdentityMetrics.EmailRefused);
                return null;
            }
            if (!options.AllowUnverifiedEmail && IsMarkedUnverified(user))
            {
                warnings.Report(IdentityMetrics.EmailUnverified);
                return null;
            }
            var first = First(user, options.FirstNameClaimTypes);
            var last = First(user, options.LastNameClaimTypes);
            // BentoIdentity leaves a name that long out and counts it; the warning says why.
            if (first?.Length > BentoIdentity.MaxNameLength || last?.Length > BentoIdentity.MaxNameLength) warnings.Report(IdentityMetrics.NameTooLong, count: false);
            return new BentoIdentity(email, first, last);
        }

        /// <summary>Whether the token says the email is not verified: an <c>email_verified</c> claim whose value is <c>false</c>.</summary>
        private static bool IsMarkedUnverified(ClaimsPrincipal user)
        {
            foreach (var claim in user.FindAll("email_verified"))
            {
                if (string.Equals(claim.Value.Trim(), "false", System.StringComparison.OrdinalIgnoreCase)) return true;
            }
            return false;
        }

        private static string? Email(ClaimsPrincipal user, IList<string> types, out bool refused)
        {
            refused = false;
            for (var i = 0; i < types.Count; i++)
            {
                var value = user.FindFirst(types[i])?.Value;
                if (string.IsNullOrEmpty(value)) continue;
                if (EmailAddress.LooksValid(value)) return value;
                refused = true;
            }
            return null;
        }

        private static string? First(ClaimsPrincipal user, IList<string> types)
        {
            for (var i = 0; i < types.Count; i++)
            {
                var value = user.FindFirst(types[i])?.Value;
                if (!string.IsNullOrEmpty(value)) return value;
            }
            return null;
        }
    }
}
