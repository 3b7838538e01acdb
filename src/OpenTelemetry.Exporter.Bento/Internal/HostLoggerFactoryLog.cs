using System;
using BentoSinks.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace OpenTelemetry.Exporter.Bento
{
    /// <summary>
    /// The exporter's warnings and errors, also written to the host's <see cref="ILoggerFactory"/> under the category
    /// <c>BentoSinks</c>. The factory is resolved at the first diagnostic, not when the processor is built: the
    /// OpenTelemetry logger provider is itself built while the factory is, and asking for the factory then would be a
    /// circular dependency. Once the service provider is disposed, the lines go to the EventSource only.
    /// </summary>
    internal sealed class HostLoggerFactoryLog
    {
        private readonly IServiceProvider _services;
        private ILogger? _logger;
        private bool _unavailable;

        public HostLoggerFactoryLog(IServiceProvider services) => _services = services;

        public void Write(DiagnosticLevel diagnostic, string message)
        {
            var logger = Logger();
            if (logger is null) return;
            var level = diagnostic == DiagnosticLevel.Error ? LogLevel.Error : diagnostic == DiagnosticLevel.Warning ? LogLevel.Warning : LogLevel.Information;
            if (!logger.IsEnabled(level)) return;
            logger.Log(level, default, message, null, static (m, _) => m);
        }

        private ILogger? Logger()
        {
            if (_logger != null || _unavailable) return _logger;
            try
            {
                _logger = _services.GetService<ILoggerFactory>()?.CreateLogger(HostLogDiagnostics.Category);
                _unavailable = _logger is null;
            }
            catch (ObjectDisposedException)
            {
                _unavailable = true;
            }
            return _logger;
        }
    }
}
