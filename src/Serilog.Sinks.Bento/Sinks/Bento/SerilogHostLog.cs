using BentoSinks.Diagnostics;
using Serilog.Core;
using Serilog.Events;

namespace Serilog.Sinks.Bento
{
    /// <summary>
    /// The sink's warnings and errors, also written to the app's own Serilog pipeline (<see cref="Log.Logger"/>, which
    /// <c>AddSerilog()</c> and <c>UseSerilog()</c> set in a host) with <c>SourceContext</c> <c>BentoSinks</c>. Where
    /// <see cref="Log.Logger"/> was never set, it is silent and only <c>SelfLog</c> has them.
    /// </summary>
    internal static class SerilogHostLog
    {
        public static void Write(DiagnosticLevel diagnostic, string message)
        {
            var level = diagnostic == DiagnosticLevel.Error ? LogEventLevel.Error : diagnostic == DiagnosticLevel.Warning ? LogEventLevel.Warning : LogEventLevel.Information;
            var logger = Log.Logger;
            if (!logger.IsEnabled(level)) return;
            logger.ForContext(Constants.SourceContextPropertyName, HostLogDiagnostics.Category).Write(level, "{BentoDiagnostic:l}", message);
        }
    }
}
