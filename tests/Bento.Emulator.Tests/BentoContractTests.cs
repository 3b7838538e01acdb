using System;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;

namespace Bento.Emulator.Tests
{
    /// <summary>
    /// Requests the real Bento refuses are refused here too (an app that passes against the emulator must not fail
    /// against Bento), each with its reason in words in the inspection API; and Bento's credential check route.
    /// </summary>
    public class BentoContractTests
    {
        private const string Event = "{\"type\":\"signup\",\"email\":\"ada@example.com\"";

        [Theory]
        [InlineData("no site_uuid in the query", 401, "missing site_uuid")]
        [InlineData("no Content-Type", 415, "missing Content-Type")]
        [InlineData("text/plain", 415, "wrong Content-Type")]
        [InlineData("a date in words", 400, "'date' must be an ISO 8601")]
        [InlineData("the email @", 400, "'email' must be a string holding an email")]
        [InlineData("invalid UTF-8", 400, "not valid UTF-8")]
        [InlineData("an upper-case path", 404, "no such route")]
        [InlineData("a trailing slash", 404, "no such route")]
        public async Task A_request_Bento_refuses_is_refused_with_its_reason(string what, int status, string reason)
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var raw = new RawBento(emulator.BaseAddress);
            var good = "{\"site_uuid\":\"emulator-site\",\"events\":[" + Event + "}]}";
            var answered = what switch
            {
                "no site_uuid in the query" => await raw.PostAsync(good, siteUuid: null),
                "no Content-Type" => await raw.PostAsync(good, contentType: null),
                "text/plain" => await raw.PostAsync(good, contentType: "text/plain"),
                "a date in words" => await raw.PostAsync("{\"events\":[" + Event + ",\"date\":\"yesterday, around noon\"}]}"),
                "the email @" => await raw.PostAsync("{\"events\":[{\"type\":\"signup\",\"email\":\"@\"}]}"),
                "invalid UTF-8" => await raw.PostBytesAsync(Encoding.UTF8.GetBytes(good.Replace("signup", "sign\u00e9up", StringComparison.Ordinal))
                    is var bytes && Array.IndexOf(bytes, (byte)0xC3) is var at ? Patch(bytes, at) : bytes),
                "an upper-case path" => await raw.PostAsync(good, path: "api/v1/batch/EVENTS"),
                _ => await raw.PostAsync(good, path: "api/v1/batch/events/"),
            };
            Assert.Equal(status, answered);
            Assert.Equal(0, emulator.EventCount);
            using var page = await raw.GetJsonAsync("_emulator/requests?refused=true");
            var refused = Assert.Single(page.RootElement.GetProperty("requests").EnumerateArray());
            Assert.Equal(status, refused.GetProperty("status").GetInt32());
            Assert.Contains(reason, refused.GetProperty("reason").GetString());
        }

        // 0xC3 followed by a byte that cannot continue it: invalid UTF-8.
        private static byte[] Patch(byte[] bytes, int at)
        {
            bytes[at + 1] = (byte)'x';
            return bytes;
        }

        [Fact]
        public async Task A_correct_batch_with_an_iso_date_and_a_charset_is_accepted()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var raw = new RawBento(emulator.BaseAddress);
            Assert.Equal(200, await raw.PostAsync("{\"site_uuid\":\"emulator-site\",\"events\":[" + Event + ",\"date\":\"2026-11-22T10:00:00.000Z\"}," +
                Event + ",\"date\":\"2026-11-22T10:00:00+01:00\"}]}", contentType: "application/json; charset=utf-8"));
            Assert.Equal(2, emulator.EventCount);
        }

        [Fact]
        public async Task The_credential_check_route_answers_by_the_batch_routes_rules()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var raw = new RawBento(emulator.BaseAddress);
            async Task<(int, string)> GetAsync(string query, string? secret = BentoEmulatorOptions.DefaultSecretKey, string? ua = "raw-tests/1.0")
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(emulator.BaseAddress, "api/v1/fetch/tags" + query));
                if (secret != null) request.Headers.Authorization = RawBento.Credentials(secret);
                if (ua != null) request.Headers.TryAddWithoutValidation("User-Agent", ua);
                using var response = await raw.SendAsync(request);
                return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
            }
            var (ok, body) = await GetAsync("?site_uuid=emulator-site");
            Assert.Equal(200, ok);
            Assert.StartsWith("{", body);
            Assert.Equal(401, (await GetAsync("?site_uuid=emulator-site", secret: "wrong")).Item1);
            Assert.Equal(401, (await GetAsync("?site_uuid=emulator-site", secret: null)).Item1);
            Assert.Equal(401, (await GetAsync("")).Item1);
            Assert.Equal(403, (await GetAsync("?site_uuid=emulator-site", ua: null)).Item1);
            Assert.Equal(0, emulator.EventCount);
        }

        [Fact]
        public async Task A_request_that_fails_mid_body_is_recorded_and_leaves_no_answer_pending()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using (var tcp = new TcpClient())
            {
                await tcp.ConnectAsync(IPAddress.Loopback, emulator.BaseAddress.Port);
                var auth = RawBento.Credentials().Parameter;
                var head = $"POST /api/v1/batch/events?site_uuid=emulator-site HTTP/1.1\r\nHost: 127.0.0.1:{emulator.BaseAddress.Port}\r\n" +
                           $"User-Agent: raw-tests/1.0\r\nAuthorization: Basic {auth}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"events\":[";
                var stream = tcp.GetStream();
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
                await stream.FlushAsync();
                await emulator.WaitForRequestsStartedAsync(1);
            } // closed mid-body
            await emulator.WaitForRequestsAsync(1, TimeSpan.FromSeconds(20));
            var failed = Assert.Single(emulator.RefusedRequests);
            Assert.Equal(0, failed.Status);
            Assert.Contains("mid-body", failed.Reason);
            // What AdvanceClockUntilAsync waits for before moving a fake clock: no answer in progress.
            Assert.Equal(emulator.RequestsStarted, emulator.RequestCount);
        }
    }
}
