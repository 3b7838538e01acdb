using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using BentoSinks.WebApp;

namespace BentoSinks.AspNetCore.Tests
{
    /// <summary>
    /// The web sample over real HTTP (WebApplicationFactory's in-memory server for the app, Kestrel on 127.0.0.1 for the
    /// emulator), in each of the README's combinations: a signed-in user's events arrive once each, with their email
    /// and names, on every path; an anonymous request's event is dropped <c>no_email</c>.
    /// </summary>
    [Collection("Web")]
    public class WebAppTests
    {
        public static TheoryData<LoggingMode, bool> Combinations => new TheoryData<LoggingMode, bool>
        {
            { LoggingMode.Serilog, false },                 // Serilog alone
            { LoggingMode.OpenTelemetry, true },            // OpenTelemetry alone (traces and logs)
            { LoggingMode.Serilog, true },                  // Serilog for logs, OpenTelemetry for traces
            { LoggingMode.SerilogAndOpenTelemetry, true },  // AddSerilog(writeToProviders: true) + the OpenTelemetry logs exporter
        };

        [Theory]
        [MemberData(nameof(Combinations))]
        public async Task A_signed_in_users_events_arrive_once_each_with_their_email_and_names(LoggingMode logs, bool traces)
        {
            await using var app = await WebAppUnderTest.StartAsync(logs, traces);
            using var ada = app.Client("ada@example.com", "Ada", "Lovelace");
            await WebAppUnderTest.PostAsync(ada, "/signup");
            await WebAppUnderTest.PostAsync(ada, "/trial");
            await WebAppUnderTest.PostAsync(ada, "/purchase?order=order-ada-1");
            if (logs != LoggingMode.OpenTelemetry) await WebAppUnderTest.PostAsync(ada, "/upgrade");
            await app.StopAsync();

            var expected = new List<string> { "signup_completed", "$purchase" };
            if (logs != LoggingMode.OpenTelemetry) expected.Add("plan_upgraded");
            if (traces) expected.AddRange(new[] { "trial_requested", "trial_started" });
            var events = app.Emulator.Events;
            Assert.Equal(expected.OrderBy(t => t, StringComparer.Ordinal), events.Select(e => e.Type).OrderBy(t => t, StringComparer.Ordinal));
            foreach (var e in events)
            {
                Assert.Equal("ada@example.com", e.Email);
                Assert.Equal("Ada", e.Field("first_name")?.GetString());
                Assert.Equal("Lovelace", e.Field("last_name")?.GetString());
            }
            var purchase = Assert.Single(events, e => e.Type == "$purchase");
            Assert.Equal("order-ada-1", purchase.Detail("unique")?.GetProperty("key").GetString());
            Assert.Equal(1999, purchase.Detail("value")?.GetProperty("amount").GetInt32());
        }

        [Theory]
        [MemberData(nameof(Combinations))]
        public async Task An_anonymous_requests_event_is_dropped_no_email(LoggingMode logs, bool traces)
        {
            using var probe = new BentoMeterProbe(logs == LoggingMode.OpenTelemetry ? "OpenTelemetry logs" : "Serilog");
            await using var app = await WebAppUnderTest.StartAsync(logs, traces);
            using var anonymous = app.Client();
            await WebAppUnderTest.PostAsync(anonymous, "/signup");
            await app.StopAsync();

            Assert.Empty(app.Emulator.Events);
            Assert.Equal(1, probe.DroppedFor("no_email"));
        }

        [Fact]
        public async Task Two_hundred_concurrent_requests_from_fifty_users_give_every_event_its_user()
        {
            await using var app = await WebAppUnderTest.StartAsync(LoggingMode.Serilog, traces: true);
            var users = Enumerable.Range(0, 50).Select(i => (Email: $"user{i}@example.com", First: $"First{i}", Last: $"Last{i}")).ToArray();
            var clients = users.Select(u => app.Client(u.Email, u.First, u.Last)).ToArray();
            var paths = new[] { "/signup", "/trial", "/purchase", "/upgrade" };
            var sent = new ConcurrentDictionary<string, string>(); // order key -> email
            var expected = new ConcurrentDictionary<(string Type, string Email), int>();
            using var start = new System.Threading.ManualResetEventSlim(false);
            var requests = Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
            {
                var user = users[i % users.Length];
                var path = paths[(i / users.Length) % paths.Length];
                if (path == "/purchase")
                {
                    var key = $"order-{i}";
                    sent[key] = user.Email;
                    path += "?order=" + key;
                }
                foreach (var type in TypesOf(path)) expected.AddOrUpdate((type, user.Email), 1, (_, n) => n + 1);
                start.Wait();
                await WebAppUnderTest.PostAsync(clients[i % users.Length], path);
            })).ToArray();
            start.Set();
            await Task.WhenAll(requests);
            await app.StopAsync();
            foreach (var c in clients) c.Dispose();

            Assert.Equal(expected.OrderBy(kv => kv.Key), app.Counts().OrderBy(kv => kv.Key));
            var names = users.ToDictionary(u => u.Email);
            foreach (var e in app.Emulator.Events)
            {
                Assert.Equal(names[e.Email].First, e.Field("first_name")?.GetString());
                Assert.Equal(names[e.Email].Last, e.Field("last_name")?.GetString());
                if (e.Type == "$purchase") Assert.Equal(sent[e.Detail("unique")!.Value.GetProperty("key").GetString()!], e.Email);
            }
        }

        [Fact]
        public async Task Background_work_identified_with_BentoIdentity_Push_and_everything_is_delivered_when_the_host_stops()
        {
            await using var app = await WebAppUnderTest.StartAsync(LoggingMode.Serilog, traces: true);
            using var anonymous = app.Client();
            await WebAppUnderTest.PostAsync(anonymous, "/background");
            await app.StopAsync();
            var e = Assert.Single(app.Emulator.Events);
            Assert.Equal(("import_finished", "batch@example.com"), (e.Type, e.Email));
            Assert.Equal("Batch", e.Field("first_name")?.GetString());
        }

        private static IEnumerable<string> TypesOf(string path) => path switch
        {
            "/signup" => new[] { "signup_completed" },
            "/trial" => new[] { "trial_requested", "trial_started" },
            "/upgrade" => new[] { "plan_upgraded" },
            _ => new[] { "$purchase" },
        };
    }
}
