using System;
using System.Text.RegularExpressions;
using System.Threading.Tasks;

namespace Bento.Emulator.Tests
{
    /// <summary>The program's arguments are checked with clear errors, and what it prints cannot be steered by what it receives.</summary>
    public class CommandLineTests
    {
        [Theory]
        [InlineData("--rate-limit", "0", "--rate-limit must be a whole number of at least 1")]
        [InlineData("--max-events", "lots", "--max-events must be a whole number of at least 1")]
        [InlineData("--max-bytes", "1KB", "--max-bytes must be a size of at least")]
        [InlineData("--urls", "not a url", "--urls must be a URL")]
        public void A_wrong_value_is_a_clear_error_and_exit_code_2(string name, string value, string message)
        {
            using var program = ChildProcess.Start("Bento.Emulator.dll", new[] { "--urls", "http://127.0.0.1:0", name, value });
            Assert.True(program.Process.WaitForExit(30_000));
            Assert.Equal(2, program.Process.ExitCode);
            program.Process.WaitForExit(); // flush the redirected streams
            Assert.Contains(message, program.Errors);
            Assert.DoesNotContain("Unhandled exception", program.Errors);
        }

        [Fact]
        public async Task Event_types_with_terminal_escapes_are_printed_escaped()
        {
            using var program = ChildProcess.Start("Bento.Emulator.dll", new[] { "--urls", "http://127.0.0.1:0" });
            var endpoint = Regex.Match(program.Next(l => l.Contains("listening", StringComparison.Ordinal)), @"endpoint (\S+)").Groups[1].Value;
            using var raw = new RawBento(new Uri(new Uri(endpoint), "/"));
            Assert.Equal(200, await raw.PostAsync(RawBento.Batch(1, type: "x\\u001b[2J\\r\\n[emulator] forged line")));
            var line = program.Next(l => l.Contains("accepted", StringComparison.Ordinal));
            Assert.DoesNotContain('\u001b', line);
            Assert.Contains("\\u001b[2J\\u000d\\u000a[emulator] forged line", line);
        }
    }
}
