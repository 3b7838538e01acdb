using System;
using Aspire.Hosting.ApplicationModel;

namespace Aspire.Hosting.ApplicationModel
{
    /// <summary>
    /// The Bento emulator (the <c>bento-emulator</c> .NET tool, package <c>BentoSinks.Emulator.Tool</c>) as an Aspire
    /// resource: Bento's batch events API and its live page of received events on one HTTP endpoint.
    /// </summary>
    public sealed class BentoEmulatorResource : ExecutableResource, IResourceWithConnectionString
    {
        /// <summary>The name of the emulator's HTTP endpoint (its API under <c>/api/v1</c> and its page at <c>/</c>).</summary>
        public const string HttpEndpointName = "http";

        /// <summary>The site UUID the emulator accepts: the emulator's default, <c>emulator-site</c>.</summary>
        public const string DefaultSiteUuid = "emulator-site";

        /// <summary>The publishable key the emulator accepts: the emulator's default, <c>emulator-publishable-key</c>.</summary>
        public const string DefaultPublishableKey = "emulator-publishable-key";

        /// <summary>The secret key the emulator accepts: the emulator's default, <c>emulator-secret-key</c> (not a secret).</summary>
        public const string DefaultSecretKey = "emulator-secret-key";

        private EndpointReference? _httpEndpoint;

        /// <summary>Creates the resource.</summary>
        /// <param name="name">The resource's name, e.g. <c>bento</c>.</param>
        /// <param name="command">The program to run: <c>bento-emulator</c> (the installed tool), or <c>dotnet</c> with the arguments that start it.</param>
        /// <param name="workingDirectory">The working directory of the program.</param>
        public BentoEmulatorResource(string name, string command, string workingDirectory)
            : base(name, command, workingDirectory)
        {
        }

        /// <summary>The site UUID the emulator accepts and the referencing projects are given.</summary>
        public string SiteUuid { get; } = DefaultSiteUuid;

        /// <summary>The publishable key the emulator accepts and the referencing projects are given.</summary>
        public string PublishableKey { get; } = DefaultPublishableKey;

        /// <summary>The secret key the emulator accepts and the referencing projects are given (the emulator's, never a real one).</summary>
        public string SecretKey { get; } = DefaultSecretKey;

        /// <summary>The emulator's HTTP endpoint.</summary>
        public EndpointReference HttpEndpoint => _httpEndpoint ??= new EndpointReference(this, HttpEndpointName);

        /// <summary>The API base the sink and the exporter send to: <c>{http endpoint}/api/v1</c> (<c>BENTO_ENDPOINT</c>).</summary>
        public ReferenceExpression ApiBase => ReferenceExpression.Create($"{HttpEndpoint.Property(EndpointProperty.Url)}/api/v1");

        /// <summary>
        /// <c>Endpoint={api base};SiteUuid=…;PublishableKey=…;SecretKey=…</c>, handed to a referencing project as
        /// <c>ConnectionStrings__{name}</c> next to the <c>BENTO_*</c> variables.
        /// </summary>
        public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
            $"Endpoint={HttpEndpoint.Property(EndpointProperty.Url)}/api/v1;SiteUuid={SiteUuid};PublishableKey={PublishableKey};SecretKey={SecretKey}");
    }
}
