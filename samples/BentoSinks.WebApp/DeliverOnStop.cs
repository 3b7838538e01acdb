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

        private TracerProvider? _tracerProvider;
        private LoggerProvider? _loggerProvider;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            // Resolved now: a host may be stopped twice (WebApplicationFactory stops it after the app's own RunAsync
            // has), the second time with its services already disposed.
            _tracerProvider = _services.GetService<TracerProvider>();
            _loggerProvider = _services.GetService<LoggerProvider>();
            return Task.CompletedTask;
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            _tracerProvider?.ForceFlush();
            _loggerProvider?.ForceFlush();
            if (_serilog != null) await _serilog.DisposeAsync().ConfigureAwait(false);
        }
    }
}
