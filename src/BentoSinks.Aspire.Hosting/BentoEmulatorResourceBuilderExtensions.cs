using System;
using System.IO;
using Aspire.Hosting.ApplicationModel;

namespace Aspire.Hosting
{
    /// <summary>Adds the Bento emulator to an Aspire app host, and hands its endpoint and keys to projects.</summary>
    public static class BentoEmulatorResourceBuilderExtensions
    {
        /// <summary>The <c>BENTO_*</c> variables a referencing project gets, which Serilog.Sinks.Bento and OpenTelemetry.Exporter.Bento read.</summary>
        internal static readonly string[] Variables = { "BENTO_ENDPOINT", "BENTO_SITE_UUID", "BENTO_PUBLISHABLE_KEY", "BENTO_SECRET_KEY" };

        /// <summary>
        /// Runs the Bento emulator as a resource: the <c>bento-emulator</c> tool (<c>dotnet tool install --global
        /// BentoSinks.Emulator.Tool</c>) on an HTTP endpoint, its page of received events and refused requests linked from
        /// the dashboard, healthy once it answers. Hand it to a project with
        /// <see cref="WithReference{TDestination}(IResourceBuilder{TDestination}, IResourceBuilder{BentoEmulatorResource})"/>.
        /// </summary>
        /// <param name="builder">The app host's builder.</param>
        /// <param name="name">The resource's name, e.g. <c>bento</c>.</param>
        /// <param name="port">The port the dashboard and the projects use; null: one chosen at run time.</param>
        /// <returns>The resource's builder.</returns>
        public static IResourceBuilder<BentoEmulatorResource> AddBentoEmulator(this IDistributedApplicationBuilder builder, string name, int? port = null)
            => AddBentoEmulator(builder, name, port, "bento-emulator");

        /// <summary>The same, running <paramref name="command"/> with <paramref name="leadingArgs"/> (tests: <c>dotnet Bento.Emulator.dll</c>).</summary>
        internal static IResourceBuilder<BentoEmulatorResource> AddBentoEmulator(
            IDistributedApplicationBuilder builder, string name, int? port, string command, params string[] leadingArgs)
        {
            if (builder is null) throw new ArgumentNullException(nameof(builder));
            if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("The resource name must not be blank.", nameof(name));
            var resource = new BentoEmulatorResource(name, command, builder.AppHostDirectory ?? Directory.GetCurrentDirectory());
            return builder.AddResource(resource)
                .WithHttpEndpoint(port: port, name: BentoEmulatorResource.HttpEndpointName)
                .WithArgs(context =>
                {
                    foreach (var arg in leadingArgs) context.Args.Add(arg);
                    // Behind the app host's proxy, the emulator listens on the target port it is given, on loopback.
                    context.Args.Add("--urls");
                    context.Args.Add(ReferenceExpression.Create($"http://localhost:{resource.HttpEndpoint.Property(EndpointProperty.TargetPort)}"));
                    context.Args.Add("--site-uuid");
                    context.Args.Add(resource.SiteUuid);
                    context.Args.Add("--publishable-key");
                    context.Args.Add(resource.PublishableKey);
                    context.Args.Add("--secret-key");
                    context.Args.Add(resource.SecretKey);
                })
                .WithUrlForEndpoint(BentoEmulatorResource.HttpEndpointName, url => url.DisplayText = "Bento emulator: received events")
                .WithHttpHealthCheck("/_emulator/summary", endpointName: BentoEmulatorResource.HttpEndpointName);
        }

        /// <summary>
        /// Hands <paramref name="builder"/>'s resource the emulator's API base and keys as <c>BENTO_ENDPOINT</c>,
        /// <c>BENTO_SITE_UUID</c>, <c>BENTO_PUBLISHABLE_KEY</c> and <c>BENTO_SECRET_KEY</c> (which the Serilog sink and the
        /// OpenTelemetry exporter read for what the app's code and configuration leave unset), and as the connection
        /// string <c>ConnectionStrings__{name}</c>.
        /// </summary>
        /// <typeparam name="TDestination">The referencing resource: a project, an executable, a container.</typeparam>
        /// <param name="builder">The referencing resource's builder.</param>
        /// <param name="bento">The emulator.</param>
        /// <returns><paramref name="builder"/>, to chain calls.</returns>
        public static IResourceBuilder<TDestination> WithReference<TDestination>(this IResourceBuilder<TDestination> builder, IResourceBuilder<BentoEmulatorResource> bento)
            where TDestination : IResourceWithEnvironment
        {
            if (builder is null) throw new ArgumentNullException(nameof(builder));
            if (bento is null) throw new ArgumentNullException(nameof(bento));
            var emulator = bento.Resource;
            builder.WithEnvironment(context =>
            {
                context.EnvironmentVariables["BENTO_ENDPOINT"] = emulator.ApiBase;
                context.EnvironmentVariables["BENTO_SITE_UUID"] = emulator.SiteUuid;
                context.EnvironmentVariables["BENTO_PUBLISHABLE_KEY"] = emulator.PublishableKey;
                context.EnvironmentVariables["BENTO_SECRET_KEY"] = emulator.SecretKey;
            });
            return builder.WithReference((IResourceBuilder<IResourceWithConnectionString>)bento);
        }
    }
}
