using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;

namespace Bento.Emulator.Tests
{
    /// <summary>A program beside the tests (the tool, or the embedding app) run as a child process, its output read line by line.</summary>
    internal sealed class ChildProcess : IDisposable
    {
        private readonly BlockingCollection<string> _lines = new BlockingCollection<string>();
        private readonly ConcurrentQueue<string> _errors = new ConcurrentQueue<string>();

        private ChildProcess(Process process)
        {
            Process = process;
            process.OutputDataReceived += (_, e) => { if (e.Data != null) _lines.Add(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data != null) _errors.Enqueue(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public Process Process { get; }

        /// <summary>What it wrote to standard error so far.</summary>
        public string Errors => string.Join("\n", _errors);

        /// <summary>
        /// <c>dotnet</c>, redirected, with SIGINT at its default: a test run started in the background (<c>cmd &amp;</c> in a
        /// script) passes SIGINT on as ignored, and a child that ignores it would fail the signal tests for the runner's sake.
        /// <c>env</c> execs dotnet, so the child's process id is dotnet's.
        /// </summary>
        public static ProcessStartInfo Dotnet()
        {
            var start = new ProcessStartInfo(OperatingSystem.IsLinux() ? "env" : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            if (OperatingSystem.IsLinux())
            {
                start.ArgumentList.Add("--default-signal=INT");
                start.ArgumentList.Add("dotnet");
            }
            return start;
        }

        /// <summary>Starts <c>dotnet {dll} {args}</c>, in <paramref name="workingDirectory"/> and with <paramref name="environment"/> when given.</summary>
        public static ChildProcess Start(string dll, IEnumerable<string> args, string? workingDirectory = null, IDictionary<string, string>? environment = null)
        {
            var start = Dotnet();
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
            foreach (var a in args) start.ArgumentList.Add(a);
            if (workingDirectory != null) start.WorkingDirectory = workingDirectory;
            foreach (var (k, v) in environment ?? new Dictionary<string, string>()) start.Environment[k] = v;
            return new ChildProcess(Process.Start(start)!);
        }

        /// <summary>The next line of output that <paramref name="wanted"/> accepts (30 s at most).</summary>
        public string Next(Func<string, bool> wanted)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (true)
            {
                var line = _lines.Take(timeout.Token);
                if (wanted(line)) return line;
            }
        }

        /// <summary>Sends a signal with kill(1).</summary>
        public void Signal(string signal)
        {
            using var kill = Process.Start("kill", $"-{signal} {Process.Id}");
            kill!.WaitForExit();
        }

        /// <summary>The peak resident memory (VmHWM) of the process, in bytes (Linux).</summary>
        public long PeakResidentBytes()
        {
            var line = File.ReadAllLines($"/proc/{Process.Id}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }

        /// <summary>The local addresses (hex, as /proc/net/tcp writes them) of every socket the process listens on (Linux).</summary>
        public IReadOnlyList<string> ListeningAddresses()
        {
            var inodes = new HashSet<string>(StringComparer.Ordinal);
            foreach (var fd in Directory.GetFiles($"/proc/{Process.Id}/fd"))
            {
                try
                {
                    var target = new FileInfo(fd).LinkTarget;
                    if (target != null && target.StartsWith("socket:[", StringComparison.Ordinal)) inodes.Add(target[8..^1]);
                }
                catch (IOException) { }
            }
            var listening = new List<string>();
            foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
            {
                if (!File.Exists(table)) continue;
                foreach (var row in File.ReadAllLines(table).Skip(1))
                {
                    var cols = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    // local_address is "ADDR:PORT", st 0A is LISTEN, the inode is column 9.
                    if (cols.Length > 9 && cols[3] == "0A" && inodes.Contains(cols[9])) listening.Add(cols[1].Split(':')[0]);
                }
            }
            return listening;
        }

        public void Dispose()
        {
            try { if (!Process.HasExited) Process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            Process.Dispose();
            _lines.Dispose();
        }
    }
}
