using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;

namespace BentoSinks.WebApp
{
    /// <summary>
    /// Delivers what is queued when the host stops, inside <c>StopAsync</c> (registered first, so it stops last): the
    /// OpenTelemetry providers are flushed and the Serilog logger closed. `app.RunAsync()` would do the same when it
    /// disposes the host, but a host stopped by someone else (WebApplicationFactory, an orchestrator that waits only for
    /// StopAsync) may dispose it later, or never.
    /// </summary>
    internal sealed class DeliverOnStop : IHostedService
    {
        private readonly IServiceProvider _services;
        private readonly Serilog.Core.Logger? _serilog;

        public DeliverOnStop(IServiceProvider services, Serilog.Core.Logger? serilog)
        {
            _services = services;
            _serilog = serilog;
        }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            _services.GetService<TracerProvider>()?.ForceFlush();
            _services.GetService<LoggerProvider>()?.ForceFlush();
            if (_serilog != null) await _serilog.DisposeAsync().ConfigureAwait(false);
        }
    }
}
