using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Delivery;

namespace BentoSinks.Core.Tests
{
    /// <summary>How <see cref="BentoHttpSender"/> reads Bento's answers: over real HTTP to the emulator, and the pure classification.</summary>
    public class ResponseClassificationTests
    {
        private static readonly DateTimeOffset Now = FakeClock.Start;

        // ---- Over HTTP, through the sender ----

        [Fact]
        public async Task Status_408_is_retryable()
        {
            await using var rig = await SenderUnderTest.StartAsync();
            rig.Emulator.EnqueueFaults(Fault.WithBody(408, "{\"error\":\"Request Timeout\"}"));
            var outcome = await rig.SendAsync();
            Assert.Equal(SendOutcomeKind.Retryable, outcome.Kind);
            Assert.Equal(408, outcome.Status);
            Assert.Equal("HTTP 408 \u2014 Bento said: Request Timeout", outcome.Detail);
        }

        [Fact]
        public async Task Status_422_is_a_bad_request_to_bisect_and_Bentos_errors_are_in_the_detail_without_values()
        {
            await using var rig = await SenderUnderTest.StartAsync();
            rig.Emulator.EnqueueFaults(Fault.WithBody(422,
                "{\"errors\":[{\"field\":\"events[3].email\",\"message\":\"is invalid\"},{\"field\":\"email\",\"message\":\"ada@example.com is not 'allowed here'\"}]}"));
            var outcome = await rig.SendAsync();
            Assert.Equal(SendOutcomeKind.BadRequest, outcome.Kind);
            Assert.Equal(422, outcome.Status);
            Assert.Equal("HTTP 422 \u2014 Bento said: events[3].email: is invalid; email: [email] is not [value]", outcome.Detail);
        }

        [Fact]
        public async Task A_400_names_Bentos_error_and_never_the_request_body()
        {
            await using var rig = await SenderUnderTest.StartAsync(e => e.RecordEvents = true);
            rig.Emulator.Poison = _ => true;
            var outcome = await rig.SendAsync();
            Assert.Equal(SendOutcomeKind.BadRequest, outcome.Kind);
            Assert.StartsWith("HTTP 400 \u2014 Bento said: event 0 was refused", outcome.Detail);
            Assert.DoesNotContain("@", outcome.Detail);
            Assert.DoesNotContain("signup", outcome.Detail);
        }

        [Theory]
        [InlineData(200)]
        [InlineData(201)]
        [InlineData(202)]
        [InlineData(203)]
        [InlineData(207)]
        public async Task Any_2xx_with_Bentos_result_is_a_success(int status)
        {
            await using var rig = await SenderUnderTest.StartAsync();
            rig.Emulator.EnqueueFaults(Fault.WithBody(status, "{\"results\":2,\"failed\":1}"));
            var outcome = await rig.SendAsync();
            Assert.Equal(SendOutcomeKind.Success, outcome.Kind);
            Assert.Equal(status, outcome.Status);
            Assert.Equal(1, outcome.Failed);
        }

        [Theory]
        [InlineData(204)]
        [InlineData(200)]
        [InlineData(202)]
        public async Task A_2xx_without_a_body_is_unconfirmed_not_a_success(int status)
        {
            // Bento answers 200/201 with {"results": n}: an empty 2xx came from something else (a proxy, a captive portal).
            await using var rig = await SenderUnderTest.StartAsync();
            rig.Emulator.EnqueueFaults(Fault.WithBody(status, null, contentType: null));
            var outcome = await rig.SendAsync();
            Assert.Equal(SendOutcomeKind.Unconfirmed, outcome.Kind);
            Assert.Equal(status, outcome.Status);
            Assert.Contains("not Bento's JSON result", outcome.Detail, StringComparison.Ordinal);
        }

        [Theory]
        [InlineData(200, "text/html", "<!DOCTYPE html><html><body>Attention Required!</body></html>")]
        [InlineData(202, "text/html", "<html>blocked</html>")]
        [InlineData(200, "text/plain", "OK")]
        public async Task A_2xx_with_a_body_that_is_not_JSON_is_retried(int status, string contentType, string body)
        {
            await using var rig = await SenderUnderTest.StartAsync();
            rig.Emulator.EnqueueFaults(Fault.WithBody(status, body, contentType));
            var outcome = await rig.SendAsync();
            Assert.Equal(SendOutcomeKind.Retryable, outcome.Kind);
            Assert.Contains("not Bento's JSON result", outcome.Detail);
            Assert.Contains(contentType, outcome.Detail);
        }

        [Theory]
        [InlineData(301)]
        [InlineData(302)]
        [InlineData(303)]
        [InlineData(307)]
        [InlineData(308)]
        public async Task Redirects_are_not_followed_and_are_reported_without_the_query(int status)
        {
            await using var rig = await SenderUnderTest.StartAsync();
            var target = rig.Emulator.ApiBase.AbsoluteUri + "/batch/events";
            rig.Emulator.EnqueueFaults(Fault.Redirect(status, target + "?site_uuid=" + rig.Settings.SiteUuid + "&api_key=sekrit-in-query#frag"));
            var outcome = await rig.SendAsync();
            Assert.Equal(SendOutcomeKind.Redirect, outcome.Kind);
            Assert.Equal(status, outcome.Status);
            Assert.Equal($"HTTP {status} redirect to {target}: check the Endpoint (it must be Bento's API base, e.g. https://app.bentonow.com/api/v1)", outcome.Detail);
            Assert.DoesNotContain("sekrit", outcome.Detail);
            Assert.DoesNotContain("site_uuid", outcome.Detail);
            Assert.DoesNotContain("frag", outcome.Detail);
            Assert.Single(rig.Emulator.Requests); // not followed
        }

        [Theory]
        [InlineData("30", 30.0)]
        [InlineData("99999999", 86_400.0)]
        [InlineData("Fri, 31 Dec 9999 23:59:59 GMT", 86_400.0)]
        [InlineData("Sat, 01 Jan 2000 00:00:00 GMT", 0.0)]
        [InlineData("soon", null)]
        public async Task Retry_After_is_clamped_to_a_day_and_an_unparsable_one_is_ignored(string header, double? expectedSeconds)
        {
            await using var rig = await SenderUnderTest.StartAsync();
            rig.Emulator.EnqueueFaults(Fault.WithStatus(429, header));
            var outcome = await rig.SendAsync();
            Assert.Equal(SendOutcomeKind.Retryable, outcome.Kind);
            if (expectedSeconds is null) Assert.Null(outcome.RetryAfter);
            else if (expectedSeconds == 30.0) Assert.InRange(outcome.RetryAfter!.Value.TotalSeconds, 29.0, 30.0);
            else Assert.Equal(TimeSpan.FromSeconds(expectedSeconds.Value), outcome.RetryAfter);
        }

        [Fact]
        public async Task A_server_that_stalls_mid_body_is_cut_at_the_request_timeout()
        {
            await using var rig = await SenderUnderTest.StartAsync(configure: o => o.RequestTimeout = TimeSpan.FromSeconds(1));
            rig.Emulator.EnqueueFaults(Fault.StallMidBody());
            var watch = Stopwatch.StartNew();
            var outcome = await rig.SendAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(SendOutcomeKind.Retryable, outcome.Kind);
            Assert.Equal(0, outcome.Status);
            Assert.Contains("request timeout", outcome.Detail);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
        }

        [Fact]
        public async Task A_body_stream_that_ignores_cancellation_is_cut_at_the_request_timeout()
        {
            // As netstandard2.0's response streams do: ReadAsync ignores the token; only disposing the response ends it.
            using var handler = new StallingHandler();
            await using var rig = await SenderUnderTest.StartAsync(configure: o => { o.RequestTimeout = TimeSpan.FromSeconds(1); o.MessageHandler = handler; });
            var watch = Stopwatch.StartNew();
            var outcome = await rig.SendAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(SendOutcomeKind.Retryable, outcome.Kind);
            Assert.Contains("request timeout", outcome.Detail);
            Assert.True(handler.Stream!.Disposed);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
        }

        [Fact]
        public async Task A_body_stream_that_ignores_cancellation_is_cut_at_the_hard_stop()
        {
            using var handler = new StallingHandler();
            await using var rig = await SenderUnderTest.StartAsync(configure: o => { o.RequestTimeout = TimeSpan.FromMinutes(10); o.MessageHandler = handler; });
            using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            var send = rig.SendAsync(stop.Token);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send.WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.True(handler.Stream!.Disposed);
        }

        // ---- The pure classification ----

        [Theory]
        [InlineData(200, "application/json", "{\"results\":1,\"failed\":0}", (int)SendOutcomeKind.Success)]
        [InlineData(202, "application/json", "\uFEFF{\"results\":1}", (int)SendOutcomeKind.Success)]
        [InlineData(204, null, "", (int)SendOutcomeKind.Unconfirmed)]
        [InlineData(200, null, " \r\n", (int)SendOutcomeKind.Unconfirmed)]
        [InlineData(200, "application/json", "{}", (int)SendOutcomeKind.Unconfirmed)]
        [InlineData(200, "application/json", "{\"ok\":true}", (int)SendOutcomeKind.Unconfirmed)]
        [InlineData(201, "application/json", "{\"results\":\"1\"}", (int)SendOutcomeKind.Unconfirmed)]
        [InlineData(200, "text/html", "<html></html>", (int)SendOutcomeKind.Retryable)]
        [InlineData(200, "application/json", "[1,2]", (int)SendOutcomeKind.Retryable)]
        [InlineData(301, null, "", (int)SendOutcomeKind.Redirect)]
        [InlineData(304, null, "", (int)SendOutcomeKind.Redirect)]
        [InlineData(400, "application/json", "{\"error\":\"bad\"}", (int)SendOutcomeKind.BadRequest)]
        [InlineData(401, "application/json", "{\"error\":\"Unauthorized\"}", (int)SendOutcomeKind.Unauthorized)]
        [InlineData(403, "text/html", "<html>blocked</html>", (int)SendOutcomeKind.Unauthorized)]
        [InlineData(404, null, "", (int)SendOutcomeKind.Rejected)]
        [InlineData(408, null, "", (int)SendOutcomeKind.Retryable)]
        [InlineData(413, null, "", (int)SendOutcomeKind.TooLarge)]
        [InlineData(422, "application/json", "{\"errors\":[\"nope\"]}", (int)SendOutcomeKind.BadRequest)]
        [InlineData(429, null, "", (int)SendOutcomeKind.Retryable)]
        [InlineData(500, "text/html", "<html>oops</html>", (int)SendOutcomeKind.Retryable)]
        [InlineData(503, null, "", (int)SendOutcomeKind.Retryable)]
        public void Statuses_are_classified(int status, string? mediaType, string body, int expected)
        {
            var outcome = BentoHttpSender.Classify(status, Headers(), mediaType, Encoding.UTF8.GetBytes(body), Now);
            Assert.Equal((SendOutcomeKind)expected, outcome.Kind);
            Assert.Equal(status, outcome.Status);
        }

        [Theory]
        [InlineData("{\"error\":\"Unauthorized: bad credentials\"}", "Unauthorized: bad credentials")]
        [InlineData("{\"errors\":[{\"field\":\"events[3].email\",\"message\":\"is invalid\"}]}", "events[3].email: is invalid")]
        [InlineData("{\"errors\":[\"Email ada@example.com is invalid\"]}", "Email [email] is invalid")]
        [InlineData("{\"message\":\"value 'pro plan' isn't allowed for \\\"plan\\\"\"}", "value [value] isn't allowed for [value]")]
        [InlineData("{\"errors\":{\"email\":[\"is invalid\",\"is too long\"]}}", "email: is invalid, is too long")]
        [InlineData("{\"error\":{\"message\":\"nested <b@c.d>\"}}", "nested [email]")]
        [InlineData("{\"error\":\"line one\\r\\nline\\u0007two\\u202E\"}", "line one line two")]
        [InlineData("{\"error\":\"unterminated \\\"ada lovelace\"}", "unterminated [value]")]
        [InlineData("{\"error\":\"the `fields` must be \u201Cflat\u201D\"}", "the [value] must be [value]")]
        [InlineData("{\"error\":\"bad\",\"message\":\"worse\"}", "bad; worse")]
        [InlineData("{\"results\":1}", null)]
        [InlineData("{\"error\":42}", null)]
        [InlineData("<html><body>Error</body></html>", null)]
        [InlineData("", null)]
        [InlineData("[\"error\"]", null)]
        public void Error_bodies_are_summarized_without_values_or_emails(string body, string? expected)
            => Assert.Equal(expected, BentoHttpSender.DescribeErrorBody(Encoding.UTF8.GetBytes(body)));

        [Fact]
        public void Error_details_are_capped_at_200_characters()
        {
            var body = "{\"error\":\"" + string.Concat(Enumerable.Repeat("invalid field ", 100)) + "\"}";
            var said = BentoHttpSender.DescribeErrorBody(Encoding.UTF8.GetBytes(body))!;
            Assert.Equal(200, said.Length);
            Assert.EndsWith("\u2026", said);
            var outcome = BentoHttpSender.Classify(400, Headers(), "application/json", Encoding.UTF8.GetBytes(body), Now);
            Assert.Equal("HTTP 400 \u2014 Bento said: " + said, outcome.Detail);
        }

        [Fact]
        public void The_keys_are_blanked_out_of_error_details()
        {
            var body = Encoding.UTF8.GetBytes("{\"error\":\"unknown key emulator-secret-key for site\"}");
            var outcome = BentoHttpSender.Classify(401, Headers(), "application/json", body, Now, "emulator-secret-key", "emulator-publishable-key");
            Assert.Equal("HTTP 401 \u2014 Bento said: unknown key [key] for site", outcome.Detail);
        }

        [Theory]
        [InlineData("120", 120.0)]
        [InlineData("0", 0.0)]
        [InlineData("2147483647", 86_400.0)]
        [InlineData("99999999999999", null)]
        [InlineData("-5", null)]
        [InlineData("Sun, 22 Nov 2026 10:00:30 GMT", 30.0)]
        [InlineData("Sat, 21 Nov 2026 10:00:00 GMT", 0.0)]
        [InlineData("Fri, 31 Dec 9999 23:59:59 GMT", 86_400.0)]
        [InlineData("Mon, 01 Jan 0001 00:00:00 GMT", 0.0)]
        [InlineData("tomorrow", null)]
        public void Retry_After_is_clamped_to_a_day(string header, double? expectedSeconds)
        {
            var headers = Headers();
            headers.TryAddWithoutValidation("Retry-After", header);
            var outcome = BentoHttpSender.Classify(503, headers, null, Array.Empty<byte>(), Now);
            Assert.Equal(SendOutcomeKind.Retryable, outcome.Kind);
            Assert.Equal(expectedSeconds is null ? null : TimeSpan.FromSeconds(expectedSeconds.Value), outcome.RetryAfter);
        }

        [Fact]
        public void A_relative_redirect_names_its_path_only_and_a_missing_Location_none()
        {
            var headers = Headers();
            headers.Location = new Uri("/api/v2/batch/events?key=abc#x", UriKind.Relative);
            var outcome = BentoHttpSender.Classify(302, headers, null, Array.Empty<byte>(), Now);
            Assert.Equal(SendOutcomeKind.Redirect, outcome.Kind);
            Assert.StartsWith("HTTP 302 redirect to /api/v2/batch/events: check the Endpoint", outcome.Detail);

            headers = Headers();
            headers.Location = new Uri("https://user:pw@evil.test:8443/p/ada@example.com?x=1");
            outcome = BentoHttpSender.Classify(301, headers, null, Array.Empty<byte>(), Now);
            Assert.DoesNotContain("pw", outcome.Detail);
            Assert.DoesNotContain("@", outcome.Detail);
            Assert.DoesNotContain("x=1", outcome.Detail);

            outcome = BentoHttpSender.Classify(308, Headers(), null, Array.Empty<byte>(), Now);
            Assert.StartsWith("HTTP 308 redirect to another location: check the Endpoint", outcome.Detail);
        }

        private static System.Net.Http.Headers.HttpResponseHeaders Headers() => new HttpResponseMessage().Headers;

        // ---- The sender under test ----

        private sealed class SenderUnderTest : IAsyncDisposable
        {
            private SenderUnderTest(BentoEmulator emulator, PipelineSettings settings)
            {
                Emulator = emulator;
                Settings = settings;
                Sender = new BentoHttpSender(settings, "tests");
                Batch = new Batch(settings.SiteUuid);
                for (var i = 0; i < 2; i++)
                    Batch.Add(Encoding.UTF8.GetBytes($"{{\"type\":\"signup\",\"email\":\"user{i}@example.com\",\"details\":{{\"n\":{i}}}}}"));
            }

            public BentoEmulator Emulator { get; }
            public PipelineSettings Settings { get; }
            public BentoHttpSender Sender { get; }
            public Batch Batch { get; }

            public static async Task<SenderUnderTest> StartAsync(Action<BentoEmulatorOptions>? emulator = null, Action<BentoOptions>? configure = null)
            {
                var emulatorOptions = new BentoEmulatorOptions();
                emulator?.Invoke(emulatorOptions);
                var server = await BentoEmulator.StartAsync(emulatorOptions);
                var options = new BentoOptions { RequestTimeout = TimeSpan.FromSeconds(10) };
                EmulatorOptions.PointAt(options, server);
                configure?.Invoke(options);
                return new SenderUnderTest(server, options.Validate());
            }

            public Task<SendOutcome> SendAsync(CancellationToken stop = default) => Sender.SendAsync(Batch, 0, Batch.Count, stop);

            public async ValueTask DisposeAsync()
            {
                Sender.Dispose();
                Batch.Dispose();
                await Emulator.DisposeAsync();
            }
        }

        /// <summary>Answers 200 with a body whose stream ignores cancellation and stalls after its first bytes, until disposed.</summary>
        private sealed class StallingHandler : HttpMessageHandler
        {
            public StallingStream? Stream { get; private set; }

            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                Stream = new StallingStream();
                var content = new StreamContent(Stream);
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = content, RequestMessage = request });
            }
        }

        private sealed class StallingStream : Stream
        {
            private readonly TaskCompletionSource<int> _disposed = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            private bool _sentPrefix;

            public bool Disposed => _disposed.Task.IsCompleted;

            public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
                => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

            public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            {
                if (!_sentPrefix)
                {
                    _sentPrefix = true;
                    var prefix = Encoding.UTF8.GetBytes("{\"results\":");
                    prefix.CopyTo(buffer);
                    return prefix.Length;
                }
                await _disposed.Task; // the token is ignored on purpose
                throw new ObjectDisposedException(nameof(StallingStream));
            }

            public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

            protected override void Dispose(bool disposing)
            {
                _disposed.TrySetResult(0);
                base.Dispose(disposing);
            }

            public override bool CanRead => true;
            public override bool CanSeek => false;
            public override bool CanWrite => false;
            public override long Length => throw new NotSupportedException();
            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
            public override void Flush() { }
            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();
            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        }
    }
}
