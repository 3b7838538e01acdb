using System.Threading;

namespace BentoSinks
{
    /// <summary>
    /// Which front ends are alive in the process, for the rule that keeps an event from reaching Bento twice: a log event
    /// that Serilog forwards to Microsoft.Extensions.Logging providers (<c>AddSerilog(writeToProviders: true)</c>) is
    /// delivered by the Serilog sink when one is alive, and the OpenTelemetry logs exporter skips its forwarded copy.
    /// </summary>
    internal static class FrontEndPresence
    {
        private static int _serilogSinks;

        /// <summary>Whether at least one Serilog Bento sink is alive.</summary>
        public static bool SerilogSinkAlive => Volatile.Read(ref _serilogSinks) > 0;

        /// <summary>A Serilog Bento sink was built.</summary>
        public static void SerilogSinkStarted() => Interlocked.Increment(ref _serilogSinks);

        /// <summary>A Serilog Bento sink was disposed (once per sink).</summary>
        public static void SerilogSinkStopped() => Interlocked.Decrement(ref _serilogSinks);
    }
}
