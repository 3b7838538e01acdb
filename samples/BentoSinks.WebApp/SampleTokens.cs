using System;
using System.Collections.Generic;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace BentoSinks.WebApp
{
    /// <summary>
    /// Test-signed JWTs for the sample (a symmetric key from configuration, <c>Jwt:SigningKey</c>): what an identity
    /// provider would issue. The sample's key is for tests and local runs only.
    /// </summary>
    public static class SampleTokens
    {
        /// <summary>The key that signs and validates the sample's tokens.</summary>
        public static SymmetricSecurityKey Key(string signingKey) => new SymmetricSecurityKey(Encoding.UTF8.GetBytes(signingKey));

        /// <summary>A token for a user, with the OIDC claims <c>email</c>, <c>given_name</c> and <c>family_name</c>.</summary>
        public static string Create(string signingKey, string issuer, string audience, string email, string firstName, string lastName)
        {
            var descriptor = new SecurityTokenDescriptor
            {
                Issuer = issuer,
                Audience = audience,
                Expires = DateTime.UtcNow.AddHours(1),
                Claims = new Dictionary<string, object>
                {
                    ["sub"] = email,
                    ["email"] = email,
                    ["given_name"] = firstName,
                    ["family_name"] = lastName,
                },
                SigningCredentials = new SigningCredentials(Key(signingKey), SecurityAlgorithms.HmacSha256),
            };
            return new JsonWebTokenHandler().CreateToken(descriptor);
        }
    }
}
