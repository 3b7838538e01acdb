using System;
using System.Collections.Concurrent;
using Serilog.Debugging;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary>Captures SelfLog output for the duration of a test (SelfLog is process-wide: tests using it share one collection).</summary>
    internal sealed class SelfLogCapture : IDisposable
    {
        private readonly ConcurrentQueue<string> _lines = new ConcurrentQueue<string>();
        public SelfLogCapture() => SelfLog.Enable(line => _lines.Enqueue(line));
        public string Text => string.Join("\n", _lines);
        public void Dispose() => SelfLog.Disable();
    }
}
