using System.Collections.Generic;
using System.Diagnostics;
using System.Security.Claims;
using System.Threading.Tasks;
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

        public BentoIdentityMiddleware(RequestDelegate next, BentoIdentityOptions options)
        {
            _next = next;
            _options = options;
        }

        public async Task InvokeAsync(HttpContext context)
        {
            var identity = FromUser(context.User, _options);
            // Every request gets a scope, "nobody" when anonymous: it never inherits an identity from the flow it runs in.
            // The scope ends when the rest of the pipeline returns: work that copied the request's flow (Task.Run, a
            // timer, a consumer started by this request) sees no identity from then on, nor do Response.OnCompleted
            // callbacks. Attached to the request's activity, which ends later: its events recorded before keep the user.
            var activity = identity is null ? null : context.Features.Get<IHttpActivityFeature>()?.Activity ?? Activity.Current;
            using (BentoIdentity.Push(identity, activity)) await _next(context).ConfigureAwait(false);
        }

        /// <summary>The identity the claims make, or null when the user is anonymous or has no email that looks like one.</summary>
        internal static BentoIdentity? FromUser(ClaimsPrincipal? user, BentoIdentityOptions options)
        {
            if (user?.Identity?.IsAuthenticated != true) return null;
            var email = First(user, options.EmailClaimTypes, mustBeEmail: true);
            if (email is null) return null;
            return new BentoIdentity(email, First(user, options.FirstNameClaimTypes, false), First(user, options.LastNameClaimTypes, false));
        }

        private static string? First(ClaimsPrincipal user, IList<string> types, bool mustBeEmail)
        {
            for (var i = 0; i < types.Count; i++)
            {
                var value = user.FindFirst(types[i])?.Value;
                if (string.IsNullOrEmpty(value)) continue;
                if (mustBeEmail && !EmailAddress.LooksValid(value)) continue;
                return value;
            }
            return null;
        }
    }
}
