using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Bento.Emulator;
using Microsoft.Extensions.Configuration;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary>appsettings.json and BENTO_* for the Serilog sink, as for the exporter. Environment variables are process-wide: this runs in the SelfLog collection.</summary>
    [Collection("SelfLog")]
    public class ConfigurationParityTests
    {
        private static IConfiguration Json(string args)
            => new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(
                "{\"Serilog\":{\"Using\":[\"Serilog.Sinks.Bento\"],\"WriteTo\":[{\"Name\":\"Bento\",\"Args\":{" + args + "}}]}}"))).Build();

        [Fact]
        public void A_missing_secret_key_in_appsettings_throws_naming_the_setting_and_the_environment_variable()
        {
            Environment.SetEnvironmentVariable("BENTO_SECRET_KEY", null);
            var ex = Record.Exception(() => new LoggerConfiguration().ReadFrom.Configuration(Json("\"siteUuid\": \"s\", \"publishableKey\": \"p\"")).CreateLogger());
            var argument = Assert.IsAssignableFrom<ArgumentException>(ex is System.Reflection.TargetInvocationException t ? t.InnerException : ex);
            Assert.Equal("secretKey", argument.ParamName);
            Assert.Contains("BENTO_SECRET_KEY", argument.Message);
        }

        [Fact]
        public async Task Keys_left_out_of_appsettings_come_from_BENTO_variables_and_every_option_has_a_json_form()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            Environment.SetEnvironmentVariable("BENTO_PUBLISHABLE_KEY", BentoEmulatorOptions.DefaultPublishableKey);
            Environment.SetEnvironmentVariable("BENTO_SECRET_KEY", BentoEmulatorOptions.DefaultSecretKey);
            try
            {
                using var metrics = new BentoMeterProbe("Serilog");
                var configuration = Json($"\"siteUuid\": \"{BentoEmulatorOptions.DefaultSiteUuid}\", \"endpoint\": \"{emulator.ApiBase}\", " +
                    "\"maxRequestsPerMinute\": 0, \"maxRequestBytes\": 65536, \"retryTimeLimit\": \"00:01:00\", \"requestTimeout\": \"00:00:05\", " +
                    "\"shutdownTimeout\": \"00:00:10\", \"excludedEventTypes\": [\"page_viewed\"], \"period\": \"01:00:00\"");
                var logger = new LoggerConfiguration().Enrich.FromLogContext().ReadFrom.Configuration(configuration).CreateLogger();
                var log = logger.ForContext("Email", "ada@example.com");
                for (var i = 0; i < 5; i++) log.ForAnalytics("signup_completed").Information("n {n}", i);
                log.ForAnalytics("page_viewed").Information("excluded by appsettings");
                await logger.DisposeAsync();

                Assert.Equal(5, emulator.EventCount);
                Assert.DoesNotContain(emulator.Events, e => e.Type == "page_viewed");
                Assert.Equal(1, metrics.DroppedFor("excluded"));
            }
            finally
            {
                Environment.SetEnvironmentVariable("BENTO_PUBLISHABLE_KEY", null);
                Environment.SetEnvironmentVariable("BENTO_SECRET_KEY", null);
            }
        }
    }
}
