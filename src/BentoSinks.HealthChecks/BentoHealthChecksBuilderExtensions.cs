using System;
using System.Collections.Generic;
using BentoSinks.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection
{
    /// <summary>Registers the Bento health check.</summary>
    public static class BentoHealthChecksBuilderExtensions
    {
        /// <summary>
        /// Adds a health check over the Bento pipelines of the process (each Serilog sink and OpenTelemetry exporter
        /// alive): <see cref="HealthStatus.Unhealthy"/> after Bento answered 401/403, or the endpoint answered 404/405 or a
        /// redirect or its TLS certificate was refused (a wrong setting; until a later success);
        /// <see cref="HealthStatus.Degraded"/> while retrying, after answers that were not Bento's (<c>unconfirmed</c>) or
        /// drops within <see cref="BentoHealthCheckOptions.DropWindow"/> (5 minutes by default; <c>no_email</c> and
        /// <c>excluded</c> do not count unless <see cref="BentoHealthCheckOptions.IgnoredDropReasons"/> says so);
        /// <see cref="HealthStatus.Healthy"/> otherwise, saying "not verified yet" until Bento has accepted a request. Its
        /// data holds each pipeline's counts (<c>Serilog.sent</c>, <c>Serilog.dropped.unauthorized</c>, …), never an
        /// email, a key or an event body.
        /// </summary>
        /// <param name="builder">The health checks builder (<c>services.AddHealthChecks()</c>).</param>
        /// <param name="name">The check's name; <c>bento</c> by default.</param>
        /// <param name="configure">Sets the drop window, a filter on the pipelines' names, and the status when no pipeline is alive.</param>
        /// <param name="tags">Tags for filtering checks (e.g. <c>ready</c>).</param>
        /// <returns>The builder, for chaining.</returns>
        /// <exception cref="ArgumentException">The name is blank or the drop window is negative.</exception>
        public static IHealthChecksBuilder AddBentoHealthCheck(this IHealthChecksBuilder builder, string name = "bento",
            Action<BentoHealthCheckOptions>? configure = null, IEnumerable<string>? tags = null)
        {
            if (builder is null) throw new ArgumentNullException(nameof(builder));
            if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("The health check needs a name.", nameof(name));
            var options = new BentoHealthCheckOptions();
            configure?.Invoke(options);
            if (options.IgnoredDropReasons is null)
                throw new ArgumentException("BentoHealthCheckOptions.IgnoredDropReasons must not be null (clear it to count every reason).", nameof(configure));
            if (options.DropWindow < TimeSpan.Zero)
                throw new ArgumentException("BentoHealthCheckOptions.DropWindow must be zero or more.", nameof(configure));
            var check = new BentoHealthCheck(options);
            return builder.Add(new HealthCheckRegistration(name, _ => check, failureStatus: null, tags));
        }
    }
}
