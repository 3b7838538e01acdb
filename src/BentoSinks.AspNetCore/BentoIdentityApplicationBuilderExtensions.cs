using System;
using BentoSinks.AspNetCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Microsoft.AspNetCore.Builder
{
    /// <summary>Adds the signed-in user's identity to every analytics event of a request.</summary>
    public static class BentoIdentityApplicationBuilderExtensions
    {
        /// <summary>
        /// After <c>UseAuthentication()</c>: the signed-in user's email, first name and last name (from the claims named by
        /// <see cref="BentoIdentityOptions"/>) identify every analytics event written during the request that has no email
        /// of its own: Serilog events, OpenTelemetry activity events (on the request's activity and its children) and log
        /// records. Opt-in, because an email is personal data. Also checks, once, that the logging setup can deliver.
        /// </summary>
        /// <param name="app">The application builder.</param>
        /// <returns>The builder, to chain calls.</returns>
        public static IApplicationBuilder UseBentoIdentity(this IApplicationBuilder app) => UseBentoIdentity(app, configure: null);

        /// <summary>As <see cref="UseBentoIdentity(IApplicationBuilder)"/>, with the claims to read.</summary>
        /// <param name="app">The application builder.</param>
        /// <param name="configure">Changes the claim types, or null for the defaults.</param>
        /// <returns>The builder, to chain calls.</returns>
        public static IApplicationBuilder UseBentoIdentity(this IApplicationBuilder app, Action<BentoIdentityOptions>? configure)
        {
            if (app is null) throw new ArgumentNullException(nameof(app));
            var options = new BentoIdentityOptions();
            configure?.Invoke(options);
            LoggingSetupCheck.Run(app.ApplicationServices);
            var logger = app.ApplicationServices.GetService<ILoggerFactory>()?.CreateLogger("BentoSinks.AspNetCore");
            return app.UseMiddleware<BentoIdentityMiddleware>(options, new ClaimWarnings(logger));
        }
    }
}
