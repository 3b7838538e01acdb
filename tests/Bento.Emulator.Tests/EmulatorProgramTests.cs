using System;
using System.Net.Http;
using System.Text.RegularExpressions;
using System.Threading.Tasks;

namespace Bento.Emulator.Tests
{
    /// <summary>
    /// The emulator as a program (what <c>bento-emulator</c> and <c>dotnet run --project tools/Bento.Emulator</c> run):
    /// its start banner, its refusal lines, its page, and a clean stop on SIGTERM (docker stop, Kubernetes) and on Ctrl+C.
    /// </summary>
    public class EmulatorProgramTests
    {
        [Theory]
        [InlineData("TERM")]
        [InlineData("INT")]
        public async Task The_program_prints_where_to_look_logs_refusals_and_stops_cleanly_on_a_signal(string signal)
        {
            if (!OperatingSystem.IsLinux()) return; // signals are sent with kill(1)
            using var program = ChildProcess.Start("Bento.Emulator.dll", new[] { "--urls", "http://127.0.0.1:0" });
            try
            {
                var listening = program.Next(l => l.Contains("listening", StringComparison.Ordinal));
                var endpoint = Regex.Match(listening, @"endpoint (\S+)").Groups[1].Value;
                var page = Regex.Match(program.Next(l => l.Contains("page ", StringComparison.Ordinal)), @"page (\S+)").Groups[1].Value;
                Assert.Equal(new Uri(new Uri(page), "api/v1"), new Uri(endpoint));
                var credentials = program.Next(l => l.Contains("secret key", StringComparison.Ordinal));
                Assert.Contains("site UUID emulator-site", credentials);
                Assert.Contains("publishable key emulator-publishable-key", credentials);
                Assert.Contains("secret key emulator-secret-key", credentials);
                // The copy-paste block: the variables the sink and the exporter read, with this emulator's values.
                Assert.Equal($"  export BENTO_ENDPOINT='{endpoint}'", program.Next(l => l.Contains("BENTO_ENDPOINT", StringComparison.Ordinal)));
                Assert.Equal("  export BENTO_SITE_UUID='emulator-site'", program.Next(l => l.Contains("BENTO_SITE_UUID", StringComparison.Ordinal)));
                Assert.Equal("  export BENTO_PUBLISHABLE_KEY='emulator-publishable-key'", program.Next(l => l.Contains("BENTO_PUBLISHABLE_KEY", StringComparison.Ordinal)));
                Assert.Equal("  export BENTO_SECRET_KEY='emulator-secret-key'", program.Next(l => l.Contains("BENTO_SECRET_KEY", StringComparison.Ordinal)));

                using var raw = new RawBento(new Uri(page));
                Assert.Equal(401, await raw.PostAsync(RawBento.Batch(1), secretKey: "wrong"));
                Assert.Contains("HTTP 401, wrong credentials", program.Next(l => l.Contains("refused", StringComparison.Ordinal)));
                Assert.Equal(200, await raw.PostAsync(RawBento.Batch(2)));
                Assert.Contains("batch of 2 events accepted", program.Next(l => l.Contains("accepted", StringComparison.Ordinal)));
                // The program records what it received: the page and the API show it.
                Assert.Contains("Bento emulator", await raw.GetStringAsync(""));
                using var summary = await raw.GetJsonAsync("_emulator/summary");
                Assert.Equal(2, summary.RootElement.GetProperty("events").GetInt32());
                Assert.Equal(1, summary.RootElement.GetProperty("refused").GetInt32());

                // A page left open (its event stream) must not hold the stop back.
                using var http = new HttpClient();
                await using var stream = await http.GetStreamAsync(new Uri(new Uri(page), "_emulator/stream"));
                program.Signal(signal);
                Assert.True(program.Process.WaitForExit(20_000), $"the emulator did not stop on SIG{signal}");
                Assert.Equal(0, program.Process.ExitCode);
                program.Next(l => l.Contains("stopped", StringComparison.Ordinal));
            }
            finally
            {
                if (!program.Process.HasExited) program.Process.Kill(entireProcessTree: true);
            }
        }
    }
}
