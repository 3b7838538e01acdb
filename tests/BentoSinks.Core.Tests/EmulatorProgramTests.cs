using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace BentoSinks.Core.Tests
{
    /// <summary>The emulator as a program: what it prints, and a clean stop on SIGTERM (docker stop, Kubernetes).</summary>
    public class EmulatorProgramTests
    {
        [Fact]
        public async Task The_program_logs_refusals_and_stops_cleanly_on_SIGTERM()
        {
            if (!OperatingSystem.IsLinux()) return; // SIGTERM is sent with kill(1)
            var dll = Path.Combine(AppContext.BaseDirectory, "Bento.Emulator.dll");
            var start = new ProcessStartInfo("dotnet", $"\"{dll}\" --urls http://127.0.0.1:0")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            using var process = Process.Start(start)!;
            var lines = new BlockingCollection<string>();
            process.OutputDataReceived += (_, e) => { if (e.Data != null) lines.Add(e.Data); };
            process.BeginOutputReadLine();
            try
            {
                var listening = Next(lines, l => l.Contains("listening", StringComparison.Ordinal));
                var endpoint = Regex.Match(listening, @"endpoint (\S+)").Groups[1].Value;
                Assert.Contains("secret key emulator-secret-key", listening);

                using (var client = new HttpClient())
                {
                    client.DefaultRequestHeaders.UserAgent.ParseAdd("tests/1.0");
                    var body = new StringContent("{\"events\":[]}", Encoding.UTF8, "application/json");
                    using var response = await client.PostAsync(endpoint + "/batch/events?site_uuid=emulator-site", body);
                    Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
                }
                var refused = Next(lines, l => l.Contains("refused", StringComparison.Ordinal));
                Assert.Contains("HTTP 401 Unauthorized: bad credentials", refused);

                using (var kill = Process.Start("kill", $"-TERM {process.Id}")) kill!.WaitForExit();
                Assert.True(process.WaitForExit(20_000), "the emulator did not stop on SIGTERM");
                Assert.Equal(0, process.ExitCode);
                Next(lines, l => l.Contains("stopped", StringComparison.Ordinal));
            }
            finally
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
            }
        }

        private static string Next(BlockingCollection<string> lines, Func<string, bool> wanted)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (true)
            {
                var line = lines.Take(timeout.Token);
                if (wanted(line)) return line;
            }
        }
    }
}
