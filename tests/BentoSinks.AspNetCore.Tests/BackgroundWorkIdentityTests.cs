using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;

namespace BentoSinks.AspNetCore.Tests
{
    /// <summary>
    /// The right person or no one: work that copied a request's execution context (a consumer started lazily by Ada's
    /// request, a timer, a <c>Task.Run</c>) never writes as the request's user once the request has ended, through
    /// Serilog, activity events and OpenTelemetry log records alike; the recipe (capture the identity with the job, push it
    /// in the consumer) carries the right user on purpose, and pushing null means nobody on every path.
    /// </summary>
    [Collection("Web")]
    public class BackgroundWorkIdentityTests
    {
        private static readonly string[] Paths = { "serilog", "activity", "log" };

        private static IEnumerable<(string Type, string Job, string Email)> OnEveryPath(string type, string job, string email)
            => Paths.Select(p => ($"{type}_{p}", job, email));

        private static async Task<List<(string Type, string Job, string Email)>> PlayAsync(BentoEmulator emulator, bool carryIdentity, BentoMeterProbe serilog)
        {
            await using (var app = await BackgroundWorkApp.StartAsync(emulator, carryIdentity))
            {
                using var ada = app.Client("ada@example.com", "Ada");
                using var anonymous = app.Client();
                using var grace = app.Client("grace@example.com", "Grace");
                await BackgroundWorkApp.PostAsync(ada, "/start?job=start"); // starts the consumer, the timer and the late task
                await BackgroundWorkApp.PostAsync(ada, "/enqueue?job=ada");
                await BackgroundWorkApp.PostAsync(anonymous, "/enqueue?job=anonymous");
                await BackgroundWorkApp.PostAsync(grace, "/enqueue?job=grace");
                await app.RunLeftoverWorkAsync(jobs: 3);
            }
            Assert.Equal(0, serilog.DroppedTotal - serilog.DroppedFor("no_email"));
            return emulator.Events.Select(e => (e.Type, e.Detail("job")?.GetString() ?? "", e.Email)).OrderBy(e => e).ToList();
        }

        [Fact]
        public async Task Background_work_started_in_a_users_request_never_writes_as_that_user_after_the_request()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var serilog = new BentoMeterProbe("Serilog");
            var received = await PlayAsync(emulator, carryIdentity: false, serilog);

            // Only what the requests themselves wrote arrives; the consumer's jobs, the timer and the late task had no user.
            var expected = OnEveryPath("request", "start", "ada@example.com")
                .Concat(OnEveryPath("request", "ada", "ada@example.com"))
                .Concat(OnEveryPath("request", "grace", "grace@example.com"))
                .OrderBy(e => e).ToList();
            Assert.Equal(expected, received);
            Assert.Equal(3 + 1 + 1 + 1, serilog.DroppedFor("no_email")); // 3 jobs, the timer, the late task, the anonymous request
        }

        [Fact]
        public async Task A_job_carrying_the_identity_captured_when_it_was_enqueued_is_written_as_its_owner_and_an_anonymous_job_as_nobody()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var serilog = new BentoMeterProbe("Serilog");
            var received = await PlayAsync(emulator, carryIdentity: true, serilog);

            var expected = OnEveryPath("request", "start", "ada@example.com")
                .Concat(OnEveryPath("request", "ada", "ada@example.com"))
                .Concat(OnEveryPath("request", "grace", "grace@example.com"))
                .Concat(OnEveryPath("export_finished", "ada", "ada@example.com"))
                .Concat(OnEveryPath("export_finished", "grace", "grace@example.com"))
                .OrderBy(e => e).ToList();
            Assert.Equal(expected, received); // the anonymous job (Push(null)) arrives on no path, not as Ada
            Assert.Equal("Grace", emulator.Events.First(e => e.Type == "export_finished_activity" && e.Email == "grace@example.com").Field("first_name")?.GetString());
        }

        [Fact]
        public async Task An_event_written_in_Response_OnCompleted_has_no_identity_on_any_path()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            await using (var app = await BackgroundWorkApp.StartAsync(emulator, carryIdentity: false, kestrel: true))
            {
                using var ada = app.Client("ada@example.com", "Ada");
                await BackgroundWorkApp.PostAsync(ada, "/completed");
                await app.OnCompletedRan.Task;
            }
            var received = emulator.Events.Select(e => (e.Type, e.Detail("job")?.GetString() ?? "", e.Email)).OrderBy(e => e).ToList();
            Assert.Equal(OnEveryPath("request", "completed", "ada@example.com").OrderBy(e => e).ToList(), received);
        }
    }
}
