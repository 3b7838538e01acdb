using System;
using System.Linq;
using System.Threading.Tasks;
using Serilog;

namespace Bento.Emulator.Tests
{
    /// <summary>The emulator as users' tests use it (package BentoSinks.Emulator.Testing): start it, point the app at it, wait for and assert on what arrived.</summary>
    [Collection("SelfLog")]
    public class TestPackageTests
    {
        [Fact]
        public async Task A_test_waits_for_the_event_its_app_sends_and_reads_who_sent_what()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            // Waiting starts before the app sends: the wait is woken by the emulator's change signal, not by sleeping.
            var waiting = emulator.WaitForEventAsync(e => e.Type == "trial_started" && e.Email == "grace@example.com");
            Assert.False(waiting.IsCompleted);

            var logger = new LoggerConfiguration()
                .WriteTo.Bento(BentoEmulatorOptions.DefaultSiteUuid, BentoEmulatorOptions.DefaultPublishableKey, BentoEmulatorOptions.DefaultSecretKey,
                    endpoint: emulator.ApiBase.ToString())
                .CreateLogger();
            logger.ForAnalytics("signup_completed").ForContext("Email", "ada@example.com").ForContext("FirstName", "Ada").Information("Signed up for {plan}", "pro");
            logger.ForAnalytics("trial_started").ForContext("Email", "grace@example.com").Information("Trial of {days} days", 14);
            await logger.DisposeAsync();

            var trial = await waiting;
            Assert.Equal(14, trial.Detail("days")!.Value.GetInt32());
            Assert.StartsWith("BentoSinks/", trial.Request.UserAgent);
            // An event already received is found at once.
            var signup = await emulator.WaitForEventAsync(e => e.Type == "signup_completed");
            Assert.Equal("Ada", signup.Field("first_name")!.Value.GetString());
            Assert.Equal(new[] { "signup_completed" }, emulator.EventsFor("ADA@example.com").Select(e => e.Type));
            Assert.Single(emulator.EventsOfType("trial_started"));
            Assert.Equal(1, emulator.CountsByUser["grace@example.com"]);
            Assert.Empty(emulator.RefusedRequests);
        }

        [Fact]
        public async Task A_wait_that_is_never_satisfied_says_so()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var error = await Assert.ThrowsAsync<TimeoutException>(() => emulator.WaitForEventAsync(e => e.Type == "never", TimeSpan.FromMilliseconds(50)));
            Assert.Contains("0 events received", error.Message);
        }
    }
}
