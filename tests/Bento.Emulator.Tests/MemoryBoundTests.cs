using System;
using System.Linq;
using System.Net.Http;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Xunit.Abstractions;

namespace Bento.Emulator.Tests
{
    /// <summary>
    /// The emulator left running keeps its memory bounded with its default settings: refused bodies are not kept (nor
    /// read, when the headers already refuse them), and events, bodies and counts stay within the byte budget. Measured
    /// on the program in a child process (its peak resident memory, VmHWM), so nothing else in the test host counts.
    /// </summary>
    public class MemoryBoundTests
    {
        private const long Limit = 400L * 1024 * 1024;
        private readonly ITestOutputHelper _output;

        public MemoryBoundTests(ITestOutputHelper output) => _output = output;

        [Fact]
        public async Task Resident_memory_stays_under_400_MB_through_ten_50_MB_refused_requests_and_two_million_events()
        {
            if (!OperatingSystem.IsLinux()) return; // /proc/{pid}/status
            using var program = ChildProcess.Start("Bento.Emulator.dll", new[] { "--urls", "http://127.0.0.1:0", "--quiet" });
            var endpoint = Regex.Match(program.Next(l => l.Contains("listening", StringComparison.Ordinal)), @"endpoint (\S+)").Groups[1].Value;
            var root = new Uri(new Uri(endpoint), "/");
            using var raw = new RawBento(root);

            // Ten 50 MB bodies with wrong keys: refused from the headers, never read whole, kept empty.
            var big = new byte[50 * 1024 * 1024];
            Array.Fill(big, (byte)' ');
            for (var i = 0; i < 10; i++)
            {
                try { Assert.Equal(401, await raw.PostBytesAsync(big, secretKey: "wrong")); }
                catch (HttpRequestException) { } // the emulator may close the connection on the unread rest
            }
            // And with the right keys: over the size limit, refused from Content-Length.
            try { Assert.Equal(413, await raw.PostBytesAsync(big)); }
            catch (HttpRequestException) { }
            var afterRefused = program.PeakResidentBytes();
            using (var summary = await raw.GetJsonAsync("_emulator/summary"))
                Assert.Equal(11, summary.RootElement.GetProperty("refused").GetInt32());

            // Two million small events for two million users, in batches of 1,000, from two senders at once.
            const int Batches = 2000;
            var next = -1;
            async Task SendAsync()
            {
                int b;
                while ((b = System.Threading.Interlocked.Increment(ref next)) < Batches)
                    Assert.Equal(200, await raw.PostAsync(RawBento.Batch(1000, b * 1000, users: 2_000_000, type: "type_" + (b % 500))));
            }
            await Task.WhenAll(SendAsync(), SendAsync());
            var peak = program.PeakResidentBytes();

            using var after = await raw.GetJsonAsync("_emulator/summary");
            var s = after.RootElement;
            _output.WriteLine($"peak resident memory: {afterRefused / 1048576} MB after the refused requests, {peak / 1048576} MB after 2,000,000 events; " +
                $"kept {s.GetProperty("retained_bytes").GetInt64() / 1048576} MB, let go {s.GetProperty("evicted").GetInt32():N0} events, " +
                $"{s.GetProperty("evicted_requests").GetInt32():N0} requests, {s.GetProperty("users_let_go").GetInt32():N0} user counts");
            Assert.Equal(2_000_000, s.GetProperty("events").GetInt32());
            Assert.True(s.GetProperty("evicted").GetInt32() > 0);
            Assert.True(s.GetProperty("users_let_go").GetInt32() > 0);
            Assert.True(s.GetProperty("retained_bytes").GetInt64() <= s.GetProperty("max_retained_bytes").GetInt64());
            Assert.True(afterRefused < Limit, $"{afterRefused / 1048576} MB after ten 50 MB refused requests");
            Assert.True(peak < Limit, $"{peak / 1048576} MB after 2,000,000 events");
            // What is kept is still readable: the newest event, by its id.
            using var newest = await raw.GetJsonAsync("_emulator/events?limit=1");
            Assert.Equal(2_000_000, newest.RootElement.GetProperty("events")[0].GetProperty("id").GetInt64());
        }

        [Fact]
        public async Task A_refused_body_is_kept_only_truncated_and_one_refused_from_its_headers_is_not_kept()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var raw = new RawBento(emulator.BaseAddress);
            Assert.Equal(400, await raw.PostAsync("{\"events\":[" + new string(' ', 20_000) + "oops"));
            Assert.Equal(401, await raw.PostAsync(RawBento.Batch(100), secretKey: "wrong"));
            var refused = emulator.RefusedRequests;
            Assert.Equal(2, refused.Count);
            Assert.InRange(refused[0].Body.Length, 1, 4096);
            Assert.Equal("", refused[1].Body);
        }

        [Fact]
        public async Task An_event_still_names_its_request_after_older_requests_were_let_go()
        {
            await using var emulator = await BentoEmulator.StartAsync(new BentoEmulatorOptions { MaxRecordedEvents = 10 });
            using var raw = new RawBento(emulator.BaseAddress);
            for (var b = 0; b < 30; b++) await raw.PostAsync(RawBento.Batch(1, b));
            var requests = emulator.Requests;
            var events = emulator.Events;
            Assert.True(emulator.EvictedEvents > 0);
            Assert.True(requests[0].Id > 1, "older requests were let go");
            Assert.All(events, e => Assert.Same(e.Request, requests[e.RequestIndex]));
            Assert.Equal(29, events[^1].Json.GetProperty("details").GetProperty("n").GetInt32());
        }
    }
}
