using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Xunit.Abstractions;

namespace Bento.Emulator.Tests
{
    /// <summary>
    /// Requests written to break the emulator's promises (issue 22): a request Bento refuses is never answered 200, every
    /// request is recorded with its reason, what it keeps stays readable, a page elsewhere cannot fill its log, and its
    /// memory stays bounded. Each over real HTTP on 127.0.0.1.
    /// </summary>
    public class EmulatorAttackTests
    {
        private static readonly string Auth = Convert.ToBase64String(Encoding.UTF8.GetBytes(
            BentoEmulatorOptions.DefaultPublishableKey + ":" + BentoEmulatorOptions.DefaultSecretKey));
        private readonly ITestOutputHelper _output;

        public EmulatorAttackTests(ITestOutputHelper output) => _output = output;

        /// <summary>Sends a request written by hand on a socket (what HttpClient would not send), and returns the answer's status.</summary>
        private static async Task<int> SendRawAsync(Uri root, string extraHeaders, byte[] body)
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(root.Host, root.Port);
            var stream = tcp.GetStream();
            var head = $"POST /api/v1/batch/events?site_uuid={BentoEmulatorOptions.DefaultSiteUuid} HTTP/1.1\r\nHost: {root.Authority}\r\n" +
                       $"User-Agent: attack-tests/1.0\r\nAuthorization: Basic {Auth}\r\nContent-Type: application/json\r\nConnection: close\r\n" +
                       extraHeaders + "\r\n";
            try
            {
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
                for (var at = 0; at < body.Length; at += 64 * 1024)
                    await stream.WriteAsync(body.AsMemory(at, Math.Min(64 * 1024, body.Length - at)));
            }
            catch (IOException) { } // the server may answer and close before the whole body is sent
            var buffer = new byte[512];
            var read = 0;
            try { read = await stream.ReadAsync(buffer); }
            catch (IOException) { }
            var status = Regex.Match(Encoding.ASCII.GetString(buffer, 0, read), @"^HTTP/1\.1 (\d{3})");
            return status.Success ? int.Parse(status.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        }

        private static byte[] Chunked(byte[] data, bool endIt = true)
        {
            var output = new System.IO.MemoryStream();
            for (var at = 0; at < data.Length; at += 32 * 1024)
            {
                var n = Math.Min(32 * 1024, data.Length - at);
                output.Write(Encoding.ASCII.GetBytes(n.ToString("x", System.Globalization.CultureInfo.InvariantCulture) + "\r\n"));
                output.Write(data, at, n);
                output.Write("\r\n"u8);
            }
            if (endIt) output.Write("0\r\n\r\n"u8);
            return output.ToArray();
        }

        [Fact]
        public async Task A_chunked_body_past_the_size_limit_is_answered_413_never_200()
        {
            await using var emulator = await BentoEmulator.StartAsync(new BentoEmulatorOptions { MaxRequestBytes = 64 * 1024 });
            var json = Encoding.UTF8.GetBytes("{\"events\":[{\"type\":\"t\",\"email\":\"a@b.co\",\"details\":{\"x\":\"" + new string('a', 200 * 1024) + "\"}}]}");
            Assert.Equal(413, await SendRawAsync(emulator.BaseAddress, "Transfer-Encoding: chunked\r\n", Chunked(json)));
            var recorded = await emulator.WaitForRefusedRequestAsync();
            Assert.Equal(413, recorded.Status);
        }

        [Fact]
        public async Task A_malformed_chunked_body_is_answered_400_never_200()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var body = Encoding.ASCII.GetBytes("5\r\n{\"eve\r\nZZ\r\nxx\r\n");
            Assert.Equal(400, await SendRawAsync(emulator.BaseAddress, "Transfer-Encoding: chunked\r\n", body));
            var recorded = await emulator.WaitForRefusedRequestAsync();
            Assert.Equal(400, recorded.Status);
        }

        [Theory]
        [InlineData("{\"events\":[{\"type\":\"\\ud800\",\"email\":\"a@b.co\"}]}")]
        [InlineData("{\"events\":[{\"type\":\"t\",\"email\":\"a\\udc00@b.co\"}]}")]
        [InlineData("{\"site_uuid\":\"\\ud800\",\"events\":[{\"type\":\"t\",\"email\":\"a@b.co\"}]}")]
        public async Task A_lone_surrogate_escape_in_a_read_string_is_refused_400_and_recorded(string body)
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var raw = new RawBento(emulator.BaseAddress);
            Assert.Equal(400, await raw.PostAsync(body));
            var recorded = await emulator.WaitForRefusedRequestAsync(timeout: TimeSpan.FromSeconds(10));
            Assert.Equal(400, recorded.Status);
            Assert.Equal(0, emulator.EventCount);
        }

        [Fact]
        public async Task A_lone_surrogate_escape_in_details_or_fields_is_refused_so_the_inspection_api_stays_valid_json()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var raw = new RawBento(emulator.BaseAddress);
            Assert.Equal(200, await raw.PostAsync(RawBento.Batch(1)));
            Assert.Equal(400, await raw.PostAsync("{\"events\":[{\"type\":\"t\",\"email\":\"a@b.co\",\"details\":{\"x\":\"\\ud800\"}}]}"));
            Assert.Equal(400, await raw.PostAsync("{\"events\":[{\"type\":\"t\",\"email\":\"a@b.co\",\"fields\":{\"first_name\":\"\\udfff\"}}]}"));
            // Whatever was accepted, every read of the inspection API is whole JSON.
            foreach (var path in new[] { "_emulator/events", "_emulator/events?bodies=false", "_emulator/requests", "_emulator/summary" })
                using (await raw.GetJsonAsync(path)) { }
            Assert.Equal(1, emulator.EventCount);
        }

        [Fact]
        public async Task The_site_uuid_query_parameter_is_matched_by_its_exact_name()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var raw = new RawBento(emulator.BaseAddress);
            // Bento (Rails) reads params["site_uuid"]: another spelling is no site_uuid at all.
            Assert.Equal(401, await raw.PostBytesAsync(Encoding.UTF8.GetBytes(RawBento.Batch(1)), siteUuid: null,
                path: "api/v1/batch/events?SITE_UUID=" + BentoEmulatorOptions.DefaultSiteUuid));
            Assert.Equal(401, await raw.PostBytesAsync(Encoding.UTF8.GetBytes(RawBento.Batch(1)), siteUuid: null,
                path: "api/v1/batch/events?Site_Uuid=" + BentoEmulatorOptions.DefaultSiteUuid));
            Assert.Equal(0, emulator.EventCount);
        }

        [Fact]
        public async Task A_page_elsewhere_cannot_record_requests_or_spend_the_rate_limit_with_a_cross_site_get()
        {
            await using var emulator = await BentoEmulator.StartAsync(new BentoEmulatorOptions { RateLimitPerMinute = 1 });
            using var raw = new RawBento(emulator.BaseAddress);
            // What <img src="http://127.0.0.1:port/api/v1/fetch/tags?site_uuid=..."> on another site sends: no Origin.
            for (var i = 0; i < 3; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(emulator.BaseAddress, "api/v1/fetch/tags?site_uuid=" + BentoEmulatorOptions.DefaultSiteUuid));
                request.Headers.TryAddWithoutValidation("User-Agent", "Mozilla/5.0");
                request.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "cross-site");
                request.Headers.TryAddWithoutValidation("Sec-Fetch-Mode", "no-cors");
                request.Headers.Authorization = RawBento.Credentials();
                using var response = await raw.SendAsync(request);
                Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            }
            Assert.Equal(0, emulator.RequestCount);
            // The app's own credential check still has the rate limit's one slot.
            using var check = new HttpRequestMessage(HttpMethod.Get, new Uri(emulator.BaseAddress, "api/v1/fetch/tags?site_uuid=" + BentoEmulatorOptions.DefaultSiteUuid));
            check.Headers.TryAddWithoutValidation("User-Agent", "app/1.0");
            check.Headers.Authorization = RawBento.Credentials();
            using var answer = await raw.SendAsync(check);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }

        [Fact]
        public async Task The_page_cannot_be_framed_by_another_site_so_its_clear_button_cannot_be_clickjacked()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var raw = new RawBento(emulator.BaseAddress);
            // Framed invisibly by a page elsewhere, a click on Clear would be a POST from the emulator's own origin.
            using var page = await raw.GetAsync("");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            var policy = string.Join(";", page.Headers.TryGetValues("Content-Security-Policy", out var v) ? v : Array.Empty<string>());
            Assert.Contains("frame-ancestors 'none'", policy);
            Assert.Equal("DENY", string.Join(",", page.Headers.TryGetValues("X-Frame-Options", out var x) ? x : Array.Empty<string>()));
        }

        [Fact]
        public async Task A_request_the_emulator_fails_on_is_answered_500_and_recorded_never_200()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var raw = new RawBento(emulator.BaseAddress);
            // A test's own rule that throws (here: a property the event does not have) must not read as "accepted".
            emulator.Poison = e => e.GetProperty("no_such_property").GetBoolean();
            Assert.Equal(500, await raw.PostAsync(RawBento.Batch(1)));
            var recorded = await emulator.WaitForRefusedRequestAsync(timeout: TimeSpan.FromSeconds(10));
            Assert.Equal(500, recorded.Status);
            Assert.Contains("KeyNotFoundException", recorded.Reason);
            Assert.Equal(0, emulator.EventCount);
        }

        [Theory]
        [InlineData("http://localhost:0")]
        [InlineData("https://127.0.0.1:0")]
        public void A_listen_url_the_server_cannot_bind_is_a_clear_error_and_exit_code_2(string url)
        {
            using var program = ChildProcess.Start("Bento.Emulator.dll", new[] { "--urls", url });
            Assert.True(program.Process.WaitForExit(30_000));
            program.Process.WaitForExit(); // flush the redirected streams
            Assert.Equal(2, program.Process.ExitCode);
            Assert.Contains("bento-emulator:", program.Errors);
            Assert.DoesNotContain("Unhandled exception", program.Errors);
        }

        [Fact]
        public async Task Resident_memory_stays_under_400_MB_through_eight_concurrent_10_MB_batches()
        {
            if (!OperatingSystem.IsLinux()) return; // /proc/{pid}/status
            using var program = ChildProcess.Start("Bento.Emulator.dll", new[] { "--urls", "http://127.0.0.1:0", "--quiet" });
            var endpoint = Regex.Match(program.Next(l => l.Contains("listening", StringComparison.Ordinal)), @"endpoint (\S+)").Groups[1].Value;
            var root = new Uri(new Uri(endpoint), "/");
            using var raw = new RawBento(root);
            // A valid batch just under the 10 MB limit made of the smallest JSON tokens: one event with a huge details array.
            var body = new StringBuilder("{\"events\":[{\"type\":\"t\",\"email\":\"a@b.co\",\"details\":{\"x\":[0");
            while (body.Length < 10 * 1024 * 1024 - 64) body.Append(",0");
            body.Append("]}}]}");
            var bytes = Encoding.UTF8.GetBytes(body.ToString());
            var statuses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => raw.PostBytesAsync(bytes)));
            var peak = program.PeakResidentBytes();
            _output.WriteLine($"peak resident memory {peak / 1048576} MB; answers {string.Join(",", statuses)}");
            Assert.All(statuses, s => Assert.True(s == 200 || s == 429 || s == 503, $"status {s}"));
            Assert.True(peak < 400L * 1024 * 1024, $"{peak / 1048576} MB after eight concurrent 10 MB batches");
        }
    }
}
