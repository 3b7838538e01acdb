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
    /// activity (its analytics events, and its children's, when it ends after this middleware returns). An anonymous
    /// request, or one whose email claim does not look like an email, gets no identity.
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

        public Task InvokeAsync(HttpContext context)
        {
            var identity = FromUser(context.User, _options);
            if (identity is null) return _next(context);
            var activity = context.Features.Get<IHttpActivityFeature>()?.Activity ?? Activity.Current;
            if (activity != null) identity.AttachTo(activity);
            return WithIdentityAsync(context, identity);
        }

        private async Task WithIdentityAsync(HttpContext context, BentoIdentity identity)
        {
            using (BentoIdentity.Push(identity)) await _next(context).ConfigureAwait(false);
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
