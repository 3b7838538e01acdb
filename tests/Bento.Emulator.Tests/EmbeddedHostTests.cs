using System;
using System.Collections.Generic;
using System.IO;
using System.Text.RegularExpressions;

namespace Bento.Emulator.Tests
{
    /// <summary>
    /// The emulator embedded in someone else's process (BentoEmulator.StartAsync): no ambient configuration moves it off
    /// loopback, and it leaves the process's signals alone.
    /// </summary>
    public class EmbeddedHostTests
    {
        // 127.0.0.1 and ::1 as /proc/net/tcp and tcp6 write them.
        private static readonly string[] Loopback = { "0100007F", "00000000000000000000000001000000" };

        [Theory]
        [InlineData("TERM")]
        [InlineData("INT")]
        public void An_app_embedding_the_emulator_listens_only_on_loopback_whatever_its_configuration_and_exits_on_a_signal(string signal)
        {
            if (!OperatingSystem.IsLinux()) return; // /proc and kill(1)
            var directory = Directory.CreateTempSubdirectory("bento-embed-");
            try
            {
                // What test bin folders and CI environments commonly hold: every interface asked for, three ways.
                File.WriteAllText(Path.Combine(directory.FullName, "appsettings.json"),
                    "{\"urls\":\"http://0.0.0.0:0\",\"Kestrel\":{\"Endpoints\":{\"All\":{\"Url\":\"http://0.0.0.0:0\"}}}}");
                var environment = new Dictionary<string, string>
                {
                    ["ASPNETCORE_URLS"] = "http://0.0.0.0:0",
                    ["DOTNET_URLS"] = "http://0.0.0.0:0",
                    ["Kestrel__Endpoints__Env__Url"] = "http://0.0.0.0:0",
                    ["ASPNETCORE_HTTP_PORTS"] = "0",
                };
                using var app = ChildProcess.Start("Bento.Emulator.EmbeddingApp.dll", Array.Empty<string>(), directory.FullName, environment);
                var line = app.Next(l => l.Contains("embedded emulator at", StringComparison.Ordinal));
                var address = new Uri(Regex.Match(line, @"at (\S+)").Groups[1].Value);
                Assert.Equal("127.0.0.1", address.Host);
                var listening = app.ListeningAddresses();
                Assert.NotEmpty(listening);
                Assert.All(listening, a => Assert.Contains(a, Loopback));

                app.Signal(signal);
                Assert.True(app.Process.WaitForExit(15_000), $"the app kept running after SIG{signal}: the embedded emulator swallowed it");
            }
            finally
            {
                directory.Delete(recursive: true);
            }
        }
    }
}
