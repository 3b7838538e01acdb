using System;
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
    internal enum SendOutcomeKind
    {
        Success,
        Retryable,
        BadRequest,
        TooLarge,
        Unauthorized,
        Rejected,
        /// <summary>A 3xx: the endpoint is not Bento's API base (redirects are not followed).</summary>
        Redirect,
    }

    internal readonly struct SendOutcome
    {
        public SendOutcome(SendOutcomeKind kind, int status, int failed = 0, TimeSpan? retryAfter = null, string? detail = null)
        {
            Kind = kind;
            Status = status;
            Failed = failed;
            RetryAfter = retryAfter;
            Detail = detail;
        }

        public SendOutcomeKind Kind { get; }
        /// <summary>The HTTP status, or 0 when no response arrived (timeout, connection failure).</summary>
        public int Status { get; }
        /// <summary>On success: how many events Bento counted as failed.</summary>
        public int Failed { get; }
        public TimeSpan? RetryAfter { get; }
        /// <summary>A description free of secrets, emails and event data.</summary>
        public string? Detail { get; }
    }

    /// <summary>
    /// Posts batches to <c>{Endpoint}/batch/events?site_uuid=…</c> and classifies the answer. One <see cref="HttpClient"/>
    /// per pipeline; the Authorization header is computed once; the request timeout comes from the pipeline's clock.
    /// </summary>
    internal sealed class BentoHttpSender : IDisposable
    {
        private const int MaxResponseBytes = 64 * 1024;

        private readonly PipelineSettings _settings;
        private readonly HttpClient _client;

        public BentoHttpSender(PipelineSettings settings, string? userAgentComment)
        {
            _settings = settings;
            var handler = settings.MessageHandler ?? CreateDefaultHandler();
            _client = new HttpClient(handler, disposeHandler: settings.MessageHandler is null)
            {
                Timeout = Timeout.InfiniteTimeSpan, // enforced per request with the pipeline's TimeProvider
            };
            var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes(settings.PublishableKey + ":" + settings.SecretKey));
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

        private static HttpMessageHandler CreateDefaultHandler()
        {
#if NET8_0_OR_GREATER
            return new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
                AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate,
                // The pipeline's own requests must not carry the application's trace context.
                ActivityHeadersPropagator = null,
            };
#else
            return new HttpClientHandler { AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate };
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
                using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
                var body = await ReadBodyAsync(response, linked.Token).ConfigureAwait(false);
                return Classify(response, body);
            }
            catch (OperationCanceledException) when (!stopToken.IsCancellationRequested)
            {
                return new SendOutcome(SendOutcomeKind.Retryable, 0, detail: $"no response within the request timeout ({_settings.RequestTimeout.TotalSeconds:0.###} s)");
            }
            catch (Exception ex) when (!stopToken.IsCancellationRequested && (ex is HttpRequestException || ex is IOException))
            {
                return new SendOutcome(SendOutcomeKind.Retryable, 0, detail: "connection failed: " + ex.GetType().Name + " " + Describe(ex));
            }
        }

        private static string Describe(Exception ex)
        {
            // Network exception messages name the host and the socket error; they never hold our headers or body.
            var inner = ex.InnerException;
            return inner is null ? ex.Message : ex.Message + " (" + inner.Message + ")";
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

        private SendOutcome Classify(HttpResponseMessage response, byte[] body)
        {
            var status = (int)response.StatusCode;
            if (status == 200 || status == 201)
            {
                if (TryParseResult(body, out var failed))
                    return new SendOutcome(SendOutcomeKind.Success, status, failed);
                var mediaType = response.Content.Headers.ContentType?.MediaType ?? "none";
                return new SendOutcome(SendOutcomeKind.Retryable, status,
                    detail: $"HTTP {status} with a {mediaType} body that is not Bento's JSON result (an edge block page? check the User-Agent and the endpoint)");
            }
            if (status == 429 || status >= 500)
                return new SendOutcome(SendOutcomeKind.Retryable, status, retryAfter: RetryAfter(response), detail: $"HTTP {status}");
            if (status == 400)
                return new SendOutcome(SendOutcomeKind.BadRequest, status, detail: "HTTP 400");
            if (status == 413)
                return new SendOutcome(SendOutcomeKind.TooLarge, status, detail: "HTTP 413");
            if (status == 401 || status == 403)
                return new SendOutcome(SendOutcomeKind.Unauthorized, status, detail: $"HTTP {status}");
            return new SendOutcome(SendOutcomeKind.Rejected, status, detail: $"HTTP {status}");
        }

        private TimeSpan? RetryAfter(HttpResponseMessage response)
        {
            var header = response.Headers.RetryAfter;
            if (header is null) return null;
            if (header.Delta is { } delta) return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
            if (header.Date is { } date)
            {
                var wait = date - _settings.TimeProvider.GetUtcNow();
                return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
            }
            return null;
        }

        /// <summary>Reads <c>{"results": n, "failed": m}</c>; false when the body is not a JSON object.</summary>
        internal static bool TryParseResult(byte[] body, out int failed)
        {
            failed = 0;
            try
            {
                var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isFailed = reader.ValueTextEquals("failed");
                    if (!reader.Read()) return false;
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
