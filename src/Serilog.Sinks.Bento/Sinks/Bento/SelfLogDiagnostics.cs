using BentoSinks.Diagnostics;
using Serilog.Debugging;

namespace Serilog.Sinks.Bento
{
    /// <summary>Pipeline diagnostics written to Serilog's <see cref="SelfLog"/>.</summary>
    internal sealed class SelfLogDiagnostics : IBentoDiagnostics
    {
        public static readonly SelfLogDiagnostics Instance = new SelfLogDiagnostics();

        public void Information(string message) => SelfLog.WriteLine("{0}", message);

        public void Warning(string message) => SelfLog.WriteLine("{0}", message);

        public void Error(string message) => SelfLog.WriteLine("{0}", message);
    }
}
