using System;
using BentoSinks;

namespace Bento.Emulator
{
    /// <summary>Points an application's Bento pipelines at an emulator, whatever the application's configuration.</summary>
    public static class BentoPipelineRedirect
    {
        /// <summary>
        /// Every Bento pipeline built on this async flow until the returned scope is disposed (each Serilog sink and each
        /// OpenTelemetry exporter of an app started inside it, under <c>WebApplicationFactory</c> or any host) sends to
        /// <paramref name="emulator"/> with its site UUID and keys, whatever the app's code, <c>appsettings.json</c> and
        /// <c>BENTO_*</c> environment variables name. Other options (batch size, period, ...) stay as configured.
        /// Async-local: tests running in parallel, each with its own emulator, do not see each other's.
        /// </summary>
        /// <param name="emulator">The emulator to send to.</param>
        /// <returns>The scope (a <see cref="BentoEndpointOverride"/>); dispose it at the end of the test.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="emulator"/> is null.</exception>
        /// <exception cref="ObjectDisposedException"><paramref name="emulator"/> is stopped: its port answers nothing, or another test's emulator.</exception>
        /// <example>
        /// <code>
        /// await using var emulator = await BentoEmulator.StartAsync();
        /// using var redirect = emulator.UseForAllBentoPipelines();
        /// await using var factory = new WebApplicationFactory&lt;Program&gt;();
        /// </code>
        /// </example>
        public static IDisposable UseForAllBentoPipelines(this BentoEmulator emulator)
        {
            if (emulator is null) throw new ArgumentNullException(nameof(emulator));
            // A stopped emulator's port may be the next emulator's: redirecting there could hand this app's events to another test.
            if (emulator.Stopped) throw new ObjectDisposedException(nameof(BentoEmulator), "The emulator is stopped: start one and redirect to it before building the app.");
            return BentoEndpointOverride.Begin(emulator.ApiBase, emulator.Options.SiteUuid, emulator.Options.PublishableKey, emulator.Options.SecretKey);
        }
    }
}
