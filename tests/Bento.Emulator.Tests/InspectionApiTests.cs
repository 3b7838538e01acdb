using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Xunit.Abstractions;

namespace Bento.Emulator.Tests
{
    /// <summary>The inspection API under /_emulator/, over real HTTP: events and refused requests as JSON, filters, cursor pages, reset, stream.</summary>
    public class InspectionApiTests
    {
        private readonly ITestOutputHelper _output;

        public InspectionApiTests(ITestOutputHelper output) => _output = output;

        [Fact]
        public async Task Events_come_newest_first_filtered_and_paged_by_cursor_over_100000_events()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var raw = new RawBento(emulator.BaseAddress);
            for (var b = 0; b < 100; b++) Assert.Equal(200, await raw.PostAsync(RawBento.Batch(1000, b * 1000)));
            Assert.Equal(100_000, emulator.EventCount);

            var clock = Stopwatch.StartNew();
            var firstBody = await raw.GetStringAsync("_emulator/events?limit=100");
            var firstTime = clock.Elapsed;
            using var first = JsonDocument.Parse(firstBody);
            var events = first.RootElement.GetProperty("events");
            Assert.Equal(100, events.GetArrayLength());
            Assert.Equal(100_000, first.RootElement.GetProperty("matched").GetInt32());
            var ids = events.EnumerateArray().Select(e => e.GetProperty("id").GetInt64()).ToArray();
            Assert.Equal(100_000, ids[0]);
            Assert.Equal(ids.OrderByDescending(i => i), ids);
            Assert.Equal("user999@example.com", events[0].GetProperty("email").GetString());
            Assert.Equal("N99999", events[0].GetProperty("event").GetProperty("fields").GetProperty("last_name").GetString());
            Assert.Equal("raw-tests/1.0", events[0].GetProperty("user_agent").GetString());

            // The next page starts right below the cursor, with no gap and no repeat.
            var next = first.RootElement.GetProperty("next").GetInt64();
            using var second = await raw.GetJsonAsync($"_emulator/events?limit=100&before={next}");
            Assert.Equal(ids[^1] - 1, second.RootElement.GetProperty("events")[0].GetProperty("id").GetInt64());

            // Filters: email and type contain, without case; every user got 100 events.
            clock.Restart();
            using var user = await raw.GetJsonAsync("_emulator/events?email=USER42@&limit=1000");
            var filterTime = clock.Elapsed;
            Assert.Equal(100, user.RootElement.GetProperty("matched").GetInt32());
            Assert.All(user.RootElement.GetProperty("events").EnumerateArray(), e => Assert.Equal("user42@example.com", e.GetProperty("email").GetString()));
            Assert.True(user.RootElement.GetProperty("next").ValueKind == JsonValueKind.Null);
            using var none = await raw.GetJsonAsync("_emulator/events?type=signup");
            Assert.Equal(0, none.RootElement.GetProperty("matched").GetInt32());

            // The last page ends the walk.
            using var last = await raw.GetJsonAsync("_emulator/events?limit=1000&before=1001");
            Assert.Equal(1000, last.RootElement.GetProperty("events").GetArrayLength());
            Assert.Equal(JsonValueKind.Null, last.RootElement.GetProperty("next").ValueKind);

            using var summary = await raw.GetJsonAsync("_emulator/summary");
            Assert.Equal(100_000, summary.RootElement.GetProperty("events").GetInt32());
            Assert.Equal(1000, summary.RootElement.GetProperty("users").GetInt32());
            Assert.Equal(20, summary.RootElement.GetProperty("top_users").GetArrayLength());
            Assert.Equal(100_000, summary.RootElement.GetProperty("by_type")[0].GetProperty("count").GetInt32());

            _output.WriteLine($"100,000 events: newest page of 100 in {firstTime.TotalMilliseconds:F0} ms ({firstBody.Length:N0} bytes), email filter over all in {filterTime.TotalMilliseconds:F0} ms");
            Assert.True(firstBody.Length < 100_000, "a page is 100 events, never the whole log");
        }

        [Theory]
        [InlineData("missing User-Agent", 403)]
        [InlineData("missing site_uuid", 401)]
        [InlineData("unknown site_uuid", 401)]
        [InlineData("wrong credentials", 401)]
        [InlineData("event 1: 'email'", 400)]
        [InlineData("rate limited", 429)]
        [InlineData("injected fault: HTTP 503", 503)]
        public async Task A_refused_request_is_listed_with_its_status_and_reason_in_words(string reason, int status)
        {
            await using var emulator = await BentoEmulator.StartAsync(new BentoEmulatorOptions { RateLimitPerMinute = reason == "rate limited" ? 1 : null });
            using var raw = new RawBento(emulator.BaseAddress);
            var good = RawBento.Batch(1);
            var answered = reason switch
            {
                "missing User-Agent" => await raw.PostAsync(good, userAgent: null),
                "missing site_uuid" => await raw.PostAsync(good.Replace("\"site_uuid\":\"emulator-site\",", "", StringComparison.Ordinal), siteUuid: null),
                "unknown site_uuid" => await raw.PostAsync(good, siteUuid: "someone-else"),
                "wrong credentials" => await raw.PostAsync(good, secretKey: "not-the-secret"),
                "event 1: 'email'" => await raw.PostAsync("{\"events\":[{\"type\":\"a\",\"email\":\"a@example.com\"},{\"type\":\"b\",\"email\":\"nobody\"}]}"),
                "rate limited" => await raw.PostAsync(good) + await raw.PostAsync(good) - 200,
                _ => await FaultedAsync(emulator, raw, good),
            };
            Assert.Equal(status, answered);

            using var page = await raw.GetJsonAsync("_emulator/requests?refused=true");
            var refused = Assert.Single(page.RootElement.GetProperty("requests").EnumerateArray());
            Assert.Equal(status, refused.GetProperty("status").GetInt32());
            Assert.False(refused.GetProperty("accepted").GetBoolean());
            Assert.Contains(reason, refused.GetProperty("reason").GetString());
            if (status == 400) Assert.Equal(1, refused.GetProperty("first_bad_event_index").GetInt32());
            // The credentials are never shown, not even wrong ones.
            var all = await raw.GetStringAsync("_emulator/requests") + await raw.GetStringAsync("_emulator/events") + await raw.GetStringAsync("_emulator/summary");
            Assert.DoesNotContain("not-the-secret", all, StringComparison.Ordinal);
            Assert.DoesNotContain(BentoEmulatorOptions.DefaultSecretKey, all, StringComparison.Ordinal);
            Assert.DoesNotContain("Basic ", all, StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(BentoEmulatorOptions.DefaultPublishableKey + ":")).TrimEnd('=')[..20], all, StringComparison.Ordinal);
            // And the test package sees the same.
            var request = await emulator.WaitForRefusedRequestAsync(r => r.Status == status);
            Assert.Contains(reason, request.Reason);
        }

        private static async Task<int> FaultedAsync(BentoEmulator emulator, RawBento raw, string body)
        {
            emulator.EnqueueFaults(Fault.WithStatus(503));
            return await raw.PostAsync(body);
        }

        [Fact]
        public async Task Reset_forgets_everything_and_ids_go_on()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var raw = new RawBento(emulator.BaseAddress);
            await raw.PostAsync(RawBento.Batch(3));
            await raw.PostAsync(RawBento.Batch(1), secretKey: "wrong");
            using (var reset = await raw.PostEmptyAsync("_emulator/reset")) Assert.Equal(HttpStatusCode.NoContent, reset.StatusCode);
            using (var summary = await raw.GetJsonAsync("_emulator/summary"))
            {
                Assert.Equal(0, summary.RootElement.GetProperty("events").GetInt32());
                Assert.Equal(0, summary.RootElement.GetProperty("requests").GetInt32());
                Assert.Equal(0, summary.RootElement.GetProperty("refused").GetInt32());
                Assert.Equal(0, summary.RootElement.GetProperty("by_type").GetArrayLength());
            }
            Assert.Empty(emulator.Events);
            Assert.Equal(0, emulator.RequestCount);
            await raw.PostAsync(RawBento.Batch(1));
            using var events = await raw.GetJsonAsync("_emulator/events");
            Assert.Equal(4, events.RootElement.GetProperty("events")[0].GetProperty("id").GetInt64());
            Assert.Equal(1, emulator.EventCount);
        }

        [Fact]
        public async Task The_stream_announces_each_change_without_polling()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var raw = new RawBento(emulator.BaseAddress);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            using var stream = new StreamReader(await raw.GetStreamAsync("_emulator/stream"));
            async Task<long> NextVersionAsync()
            {
                while (true)
                {
                    var line = await stream.ReadLineAsync(timeout.Token) ?? throw new EndOfStreamException();
                    if (line.StartsWith("data: ", StringComparison.Ordinal)) return long.Parse(line["data: ".Length..]);
                }
            }
            var initial = await NextVersionAsync();
            await raw.PostAsync(RawBento.Batch(2));
            Assert.True(await NextVersionAsync() > initial);
            await raw.PostAsync(RawBento.Batch(1), userAgent: null);
            using var summary = await raw.GetJsonAsync("_emulator/summary");
            Assert.Equal(summary.RootElement.GetProperty("version").GetInt64(), await NextVersionAsync());
        }

        [Fact]
        public async Task The_summary_counts_open_streams_until_their_clients_leave_and_a_refused_one_never_opens()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var raw = new RawBento(emulator.BaseAddress);
            async Task<int> OpenStreamsAsync()
            {
                using var summary = await raw.GetJsonAsync("_emulator/summary");
                return summary.RootElement.GetProperty("open_streams").GetInt32();
            }
            // A stream's first message comes once its handler runs: from then on it is counted.
            static async Task NextMessageAsync(StreamReader reader)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                string line;
                do line = await reader.ReadLineAsync(timeout.Token) ?? throw new EndOfStreamException();
                while (!line.StartsWith("data: ", StringComparison.Ordinal));
            }
            async Task<StreamReader> OpenAsync()
            {
                var reader = new StreamReader(await raw.GetStreamAsync("_emulator/stream"));
                await NextMessageAsync(reader);
                return reader;
            }
            Assert.Equal(0, await OpenStreamsAsync());
            using var first = await OpenAsync();
            using (var second = await OpenAsync()) Assert.Equal(2, await OpenStreamsAsync());

            // The second client left: its response ends and is no longer counted (the server notices the closed connection).
            var deadline = Stopwatch.StartNew();
            for (int open; (open = await OpenStreamsAsync()) != 1; await Task.Delay(20))
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"still {open} streams open 30 s after a client left");

            // Refused (the page's fallback tests switch it): 503, and nothing counted; the stream already open goes on.
            emulator.RefuseStreams = true;
            using (var refused = await raw.GetAsync("_emulator/stream"))
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal(1, await OpenStreamsAsync());
            Assert.Equal(200, await raw.PostAsync(RawBento.Batch(1)));
            await NextMessageAsync(first);
        }

        [Fact]
        public async Task Bad_paging_arguments_get_400_naming_them()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var raw = new RawBento(emulator.BaseAddress);
            foreach (var (query, word) in new[] { ("_emulator/events?limit=0", "limit"), ("_emulator/events?limit=5000", "limit"), ("_emulator/requests?before=x", "before") })
            {
                using var response = await raw.GetAsync(query);
                Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                Assert.Contains(word, await response.Content.ReadAsStringAsync());
            }
        }

        [Fact]
        public async Task The_log_stays_bounded_and_counts_what_it_let_go()
        {
            await using var emulator = await BentoEmulator.StartAsync(new BentoEmulatorOptions { MaxRecordedEvents = 1000 });
            using var raw = new RawBento(emulator.BaseAddress);
            for (var b = 0; b < 30; b++) await raw.PostAsync(RawBento.Batch(100, b * 100));
            Assert.Equal(3000, emulator.EventCount);
            Assert.InRange(emulator.Events.Count, 900, 1000);
            Assert.Equal(3000, emulator.Events.Count + emulator.EvictedEvents);
            Assert.Equal(3000, emulator.Events[^1].Id);
            using var summary = await raw.GetJsonAsync("_emulator/summary");
            Assert.Equal(emulator.EvictedEvents, summary.RootElement.GetProperty("evicted").GetInt32());
        }

        [Fact]
        public async Task The_page_is_served_from_the_emulator_with_no_external_asset()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var raw = new RawBento(emulator.BaseAddress);
            using var response = await raw.GetAsync("");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
            Assert.Contains("default-src 'self'", string.Join(";", response.Headers.GetValues("Content-Security-Policy")));
            var html = await response.Content.ReadAsStringAsync();
            var assets = System.Text.RegularExpressions.Regex.Matches(html, "(?:src|href)=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
            Assert.Equal(2, assets.Count);
            foreach (var asset in assets)
            {
                Assert.StartsWith("/_emulator/page/", asset);
                using var file = await raw.GetAsync(asset.TrimStart('/'));
                Assert.Equal(HttpStatusCode.OK, file.StatusCode);
                Assert.DoesNotContain("http://", await file.Content.ReadAsStringAsync());
                Assert.DoesNotContain("https://", await file.Content.ReadAsStringAsync());
            }
            using var missing = await raw.GetAsync("_emulator/page/nothing.js");
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }
    }
}
