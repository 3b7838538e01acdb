using System.Collections.Concurrent;
using BentoSinks.Diagnostics;

namespace BentoSinks.Core.Tests
{
    /// <summary>The pipeline's warnings and errors, kept as lines.</summary>
    internal sealed class ListDiagnostics : IBentoDiagnostics
    {
        public ConcurrentQueue<string> Lines { get; } = new ConcurrentQueue<string>();
        public void Information(string message) => Lines.Enqueue("INFO " + message);
        public void Warning(string message) => Lines.Enqueue("WARN " + message);
        public void Error(string message) => Lines.Enqueue("ERROR " + message);
        public string All => string.Join("\n", Lines);
    }
}
