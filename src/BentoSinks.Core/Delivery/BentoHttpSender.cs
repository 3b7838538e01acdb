using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace BentoSinks.Delivery
{
    /// <summary>
    /// Posts batches to <c>{Endpoint}/batch/events?site_uuid=…</c> and classifies the answer. One <see cref="HttpClient"/>
    /// per pipeline; the Authorization header is computed once; the request timeout comes from the pipeline's clock.
    /// </summary>
    internal sealed class BentoHttpSender : IDisposable
    {
        private const int MaxResponseBytes = 64 * 1024;

        private readonly PipelineSettings _settings;
        private readonly HttpClient _client;
        private readonly string[] _secrets; // blanked out of anything quoted from an answer or an exception
        private static readonly char[] QueryOrFragment = { '?', '#' };
        internal static readonly char[] Blanks = { ' ', '\t' };

        public BentoHttpSender(PipelineSettings settings, string? userAgentComment)
        {
            _settings = settings;
            var handler = settings.MessageHandler ?? CreateDefaultHandler(settings.RequestUri);
            _client = new HttpClient(handler, disposeHandler: settings.MessageHandler is null)
            {
                Timeout = Timeout.InfiniteTimeSpan, // enforced per request with the pipeline's TimeProvider
            };
            var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes(settings.PublishableKey + ":" + settings.SecretKey));
            _secrets = SecretsOf(settings.PublishableKey, settings.SecretKey);
            _client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", credentials);
            _client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("BentoSinks", ProductVersion));
            if (!string.IsNullOrEmpty(userAgentComment))
                _client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("(" + userAgentComment + ")"));
            _client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        }

        /// <summary>Our product version, as sent in the User-Agent (<c>BentoSinks/x.y.z</c>).</summary>
        public static string ProductVersion { get; } = GetVersion();

        private static string GetVersion()
        {
            var v = typeof(BentoHttpSender).Assembly.GetName().Version;
            return v is null ? "0.0.0" : $"{v.Major}.{v.Minor}.{v.Build}";
        }

        private static HttpMessageHandler CreateDefaultHandler(Uri requestUri)
        {
#if NET8_0_OR_GREATER
            return new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
                AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate,
                // A redirect means a wrong Endpoint: following it would turn the POST into a GET (301/302) or replay the
                // credentials and the events to another location (307/308). It is reported instead.
                AllowAutoRedirect = false,
                // The pipeline's own requests must not carry the application's trace context.
                ActivityHeadersPropagator = null,
            };
#else
            // HttpClientHandler has no PooledConnectionLifetime. On .NET Framework, connections to Bento's host are
            // recycled every 2 minutes through its ServicePoint (so a DNS change is seen), which touches no other host;
            // on .NET Core 2.x/3.x the setting has no effect and connections live until they idle out.
            try
            {
                var servicePoint = ServicePointManager.FindServicePoint(requestUri);
                if (servicePoint.ConnectionLeaseTimeout == Timeout.Infinite) servicePoint.ConnectionLeaseTimeout = 120_000;
            }
            catch (Exception)
            {
                // Not supported on this runtime: nothing to do.
            }
            return new HttpClientHandler
            {
                AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate,
                AllowAutoRedirect = false, // see above
            };
#endif
        }

        public async Task<SendOutcome> SendAsync(Batch batch, int start, int count, CancellationToken stopToken)
        {
            using var timeout = _settings.TimeProvider.CreateTimeoutSource(_settings.RequestTimeout);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopToken, timeout.Token);
            using var scope = _settings.SendScope?.Invoke();
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, _settings.RequestUri)
                {
                    Content = batch.CreateContent(start, count),
                };
                // Raced against the token: a custom handler that ignores cancellation cannot outlive the request timeout
                // or the hard stop (its task is abandoned, and its outcome observed so that it is never unobserved).
                var sending = _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
                using var response = await WithCancellation(sending, request.Content as Batch.BatchContent, linked.Token).ConfigureAwait(false);
                byte[] body;
                // A stream may ignore the token (netstandard2.0's ReadAsync, a custom handler's content): disposing the
                // response aborts a read stalled mid-body, so no server outlives the request timeout or the hard stop.
                using (linked.Token.Register(static r => ((HttpResponseMessage)r!).Dispose(), response))
                {
                    body = await ReadBodyAsync(response, linked.Token).ConfigureAwait(false);
                }
                linked.Token.ThrowIfCancellationRequested(); // a read the disposal cut short may look complete
                return Classify((int)response.StatusCode, response.Headers, response.Content.Headers.ContentType?.MediaType, body,
                    _settings.TimeProvider.GetUtcNow(), _secrets);
            }
            catch (Exception ex) when (stopToken.IsCancellationRequested)
            {
                // Hard stop: whatever the disposal or the token made the read throw, the pipeline expects a cancellation.
                if (ex is OperationCanceledException) throw;
                throw new OperationCanceledException("The request was cancelled by the pipeline's stop.", ex, stopToken);
            }
            catch (Exception ex) when (timeout.IsCancellationRequested && (ex is OperationCanceledException || ex is ObjectDisposedException || ex is HttpRequestException || ex is IOException))
            {
                return new SendOutcome(SendOutcomeKind.Retryable, 0, detail: $"no response within the request timeout ({_settings.RequestTimeout.TotalSeconds:0.###} s)");
            }
            catch (OperationCanceledException)
            {
                // Cancelled by neither token: the handler gave up on its own (a handler-level timeout).
                return new SendOutcome(SendOutcomeKind.Retryable, 0, detail: "the request was cancelled before a response arrived");
            }
            catch (Exception ex) when (ex is HttpRequestException || ex is IOException)
            {
                return new SendOutcome(SendOutcomeKind.Retryable, 0, detail: "connection failed: " + ex.GetType().Name + " " + Describe(ex, _secrets),
                    tlsRefused: ex.InnerException is System.Security.Authentication.AuthenticationException);
            }
        }

        /// <summary>What must never be quoted in a diagnostic: the Authorization value (as sent and URL-encoded) and both keys.</summary>
        internal static string[] SecretsOf(string publishableKey, string secretKey)
        {
            var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes(publishableKey + ":" + secretKey));
            return new[] { credentials, Uri.EscapeDataString(credentials), secretKey, publishableKey };
        }

        /// <summary>An exception's message (and its inner one's), sanitized: a custom handler's text may hold anything.</summary>
        private static string Describe(Exception ex, string[] secrets)
        {
            var inner = ex.InnerException;
            var text = inner is null ? ex.Message : ex.Message + " (" + inner.Message + ")";
            text = Sanitize(text, secrets);
            return text.Length > 200 ? text.Substring(0, 200) + "…" : text;
        }

        private static async Task<HttpResponseMessage> WithCancellation(Task<HttpResponseMessage> sending, Batch.BatchContent? content, CancellationToken token)
        {
            if (sending.IsCompleted || !token.CanBeCanceled) return await sending.ConfigureAwait(false);
            var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (token.Register(static c => ((TaskCompletionSource<bool>)c!).TrySetResult(true), cancelled))
            {
                if (await Task.WhenAny(sending, cancelled.Task).ConfigureAwait(false) == sending) return await sending.ConfigureAwait(false);
            }
            // Abandoned: its content stops reading the batch, its response is disposed if it ever comes, and its
            // exception is observed.
            content?.Abandon();
            _ = sending.ContinueWith(static t =>
            {
                if (t.Status == TaskStatus.RanToCompletion) t.Result.Dispose();
                else _ = t.Exception;
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw new OperationCanceledException(token);
        }

        private static async Task<byte[]> ReadBodyAsync(HttpResponseMessage response, CancellationToken token)
        {
#if NET8_0_OR_GREATER
            using var stream = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
#else
            using var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
#endif
            using var ms = new MemoryStream();
            var buffer = new byte[8192];
            int read;
            while (ms.Length < MaxResponseBytes && (read = await stream.ReadAsync(buffer, 0, buffer.Length, token).ConfigureAwait(false)) > 0)
                ms.Write(buffer, 0, read);
            return ms.ToArray();
        }

        /// <summary>
        /// Classifies Bento's answer. Pure: <paramref name="now"/> turns a <c>Retry-After</c> date into a delay;
        /// <paramref name="secrets"/> are blanked out of anything quoted from the body (belt and braces).
        /// </summary>
        internal static SendOutcome Classify(int status, HttpResponseHeaders headers, string? mediaType, byte[] body, DateTimeOffset now, params string[] secrets)
        {
            if (status >= 200 && status <= 299)
            {
                if (IsBlank(body)) // Bento answers 200/201 with {"results": n}: an empty 2xx came from something else
                    return new SendOutcome(SendOutcomeKind.Unconfirmed, status,
                        detail: $"HTTP {status} with an empty body, not Bento's JSON result (a proxy or a captive portal in front of Bento? check the Endpoint)");
                if (TryParseResult(body, out var failed, out var hasResults))
                    return hasResults
                        ? new SendOutcome(SendOutcomeKind.Success, status, failed)
                        : new SendOutcome(SendOutcomeKind.Unconfirmed, status, detail: $"HTTP {status} with a JSON body without Bento's results count (a proxy in front of Bento? check the Endpoint)");
                return new SendOutcome(SendOutcomeKind.Retryable, status,
                    detail: $"HTTP {status} with a {mediaType ?? "none"} body that is not Bento's JSON result (an edge block page? check the User-Agent and the endpoint)");
            }
            if (status >= 300 && status <= 399)
                return new SendOutcome(SendOutcomeKind.Redirect, status,
                    detail: $"HTTP {status} redirect to {DescribeLocation(headers.Location, secrets)}: check the Endpoint (it must be Bento's API base, e.g. {BentoOptions.DefaultEndpoint.AbsoluteUri})");

            var detail = $"HTTP {status}";
            var said = DescribeErrorBody(body, secrets);
            if (said != null) detail += " \u2014 Bento said: " + said;
            if (status == 408 || status == 429 || status >= 500)
                return new SendOutcome(SendOutcomeKind.Retryable, status, retryAfter: RetryAfter(headers, now), detail: detail);
            if (status == 400 || status == 422) // 422: a business rule refused part of the batch: bisect it as a 400
                return new SendOutcome(SendOutcomeKind.BadRequest, status, detail: detail);
            if (status == 413)
                return new SendOutcome(SendOutcomeKind.TooLarge, status, detail: detail);
            if (status == 401 || status == 403)
                return new SendOutcome(SendOutcomeKind.Unauthorized, status, detail: detail);
            return new SendOutcome(SendOutcomeKind.Rejected, status, detail: detail);
        }

        /// <summary>The most a <c>Retry-After</c> is taken at, so that no caller's arithmetic overflows; the pipeline caps it lower.</summary>
        internal static readonly TimeSpan MaxRetryAfter = TimeSpan.FromDays(1);

        /// <summary><c>Retry-After</c> (seconds or an HTTP date) as a delay in [0, 1 day]; null when absent or unparsable.</summary>
        internal static TimeSpan? RetryAfter(HttpResponseHeaders headers, DateTimeOffset now)
        {
            RetryConditionHeaderValue? header;
            try { header = headers.RetryAfter; }
            catch (FormatException) { return null; }
            if (header is null) return null;
            TimeSpan wait;
            if (header.Delta is { } delta) wait = delta;
            else if (header.Date is { } date)
            {
                // DateTimeOffset subtraction cannot overflow a TimeSpan (both ends lie within years 1..9999).
                wait = date - now;
            }
            else return null;
            if (wait < TimeSpan.Zero) return TimeSpan.Zero;
            return wait > MaxRetryAfter ? MaxRetryAfter : wait;
        }

        private static string DescribeLocation(Uri? location, string[] secrets)
        {
            if (location is null) return "another location";
            string text;
            if (location.IsAbsoluteUri)
            {
                // Scheme, host, port and path: never the user info, the query (it may hold keys) or the fragment.
                text = location.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
            }
            else
            {
                text = location.OriginalString;
                var cut = text.IndexOfAny(QueryOrFragment);
                if (cut >= 0) text = text.Substring(0, cut);
            }
            text = Sanitize(text, secrets);
            return text.Length == 0 ? "another location" : text;
        }

        private static bool IsBlank(byte[] body)
        {
            foreach (var b in body)
                if (b != (byte)' ' && b != (byte)'\t' && b != (byte)'\r' && b != (byte)'\n') return false;
            return true;
        }

        internal static ReadOnlyMemory<byte> WithoutBom(byte[] body)
            => body.Length >= 3 && body[0] == 0xEF && body[1] == 0xBB && body[2] == 0xBF ? body.AsMemory(3) : body.AsMemory();

        /// <summary>Bento's error body as one line free of values and emails (see <see cref="ErrorText.DescribeErrorBody"/>).</summary>
        internal static string? DescribeErrorBody(byte[] body, params string[] secrets) => ErrorText.DescribeErrorBody(body, secrets);

        /// <summary>Text from a response or an exception, free of secrets, values and emails (see <see cref="ErrorText.Sanitize"/>).</summary>
        internal static string Sanitize(string text, params string[] secrets) => ErrorText.Sanitize(text, secrets);

        /// <summary>Reads <c>{"results": n, "failed": m}</c>; false when the body is not a JSON object; <paramref name="hasResults"/>: it holds a numeric <c>results</c>.</summary>
        internal static bool TryParseResult(byte[] body, out int failed, out bool hasResults)
        {
            failed = 0;
            hasResults = false;
            try
            {
                var reader = new Utf8JsonReader(WithoutBom(body).Span, new JsonReaderOptions { MaxDepth = 64 });
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isFailed = reader.ValueTextEquals("failed");
                    var isResults = reader.ValueTextEquals("results");
                    if (!reader.Read()) return false;
                    if (isResults && reader.TokenType == JsonTokenType.Number) hasResults = true;
                    if (isFailed && reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var f)) failed = Math.Max(0, f);
                    else reader.Skip();
                }
                return reader.TokenType == JsonTokenType.EndObject;
            }
            catch (JsonException)
            {
                return false;
            }
        }

        public void Dispose() => _client.Dispose();
    }
}
