using System.Collections.Generic;
using System.Security.Claims;

namespace BentoSinks.AspNetCore
{
    /// <summary>
    /// Which claims of the signed-in user make the request's <see cref="BentoIdentity"/>. Each list is tried in order; the
    /// defaults hold both the short JWT/OIDC names and the names JwtBearer's default claim mapping turns them into.
    /// </summary>
    public sealed class BentoIdentityOptions
    {
        /// <summary>The email claims: <c>email</c>, then <see cref="ClaimTypes.Email"/>. A value that does not look like an email (or holds control, bidi-override or invisible characters) is skipped.</summary>
        public IList<string> EmailClaimTypes { get; } = new List<string> { "email", ClaimTypes.Email };

        /// <summary>The first-name claims: <c>given_name</c>, then <see cref="ClaimTypes.GivenName"/>.</summary>
        public IList<string> FirstNameClaimTypes { get; } = new List<string> { "given_name", ClaimTypes.GivenName };

        /// <summary>
        /// Whether to use an email that the token marks unverified (an <c>email_verified</c> claim of <c>false</c>, as
        /// Google, Auth0 and Keycloak tokens carry). False by default: anyone can put someone else's address on an account
        /// whose email is unverified, so such a request gets no identity (its events are dropped <c>no_email</c>, with a
        /// warning that says why). A token without the claim is not affected.
        /// </summary>
        public bool AllowUnverifiedEmail { get; set; }

        /// <summary>The last-name claims: <c>family_name</c>, then <see cref="ClaimTypes.Surname"/>.</summary>
        public IList<string> LastNameClaimTypes { get; } = new List<string> { "family_name", ClaimTypes.Surname };
    }
}
