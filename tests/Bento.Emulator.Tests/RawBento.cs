using System;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;

namespace Bento.Emulator.Tests
{
    /// <summary>Requests to the emulator written by hand, right or wrong on purpose, and reads of its inspection API.</summary>
    internal sealed class RawBento : IDisposable
    {
        private readonly HttpClient _http = new HttpClient();
        private readonly Uri _base;

        public RawBento(Uri baseAddress) => _base = baseAddress;

        /// <summary>POSTs a batch body; by default with the emulator's credentials, site UUID and a User-Agent.</summary>
        public Task<int> PostAsync(string body, string? userAgent = "raw-tests/1.0", string secretKey = BentoEmulatorOptions.DefaultSecretKey,
            string? siteUuid = BentoEmulatorOptions.DefaultSiteUuid, string? contentType = "application/json", string path = "api/v1/batch/events")
            => PostBytesAsync(Encoding.UTF8.GetBytes(body), userAgent, secretKey, siteUuid, contentType, path);

        /// <summary>POSTs raw bytes (e.g. invalid UTF-8), with the given Content-Type (none when null) and path.</summary>
        public async Task<int> PostBytesAsync(byte[] body, string? userAgent = "raw-tests/1.0", string secretKey = BentoEmulatorOptions.DefaultSecretKey,
            string? siteUuid = BentoEmulatorOptions.DefaultSiteUuid, string? contentType = "application/json", string path = "api/v1/batch/events",
            string? origin = null)
        {
            var query = siteUuid is null ? "" : "?site_uuid=" + Uri.EscapeDataString(siteUuid);
            var content = new ByteArrayContent(body);
            if (contentType != null) content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_base, path + query)) { Content = content };
            if (origin != null) request.Headers.TryAddWithoutValidation("Origin", origin);
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes(BentoEmulatorOptions.DefaultPublishableKey + ":" + secretKey)));
            if (userAgent != null) request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
            using var response = await _http.SendAsync(request);
            return (int)response.StatusCode;
        }

        /// <summary>A body of <paramref name="count"/> valid events, for <c>user{i % users}@example.com</c>, numbered from <paramref name="first"/>.</summary>
        public static string Batch(int count, int first = 0, int users = 1000, string type = "feature_used")
        {
            var sb = new StringBuilder("{\"site_uuid\":\"").Append(BentoEmulatorOptions.DefaultSiteUuid).Append("\",\"events\":[");
            for (var i = 0; i < count; i++)
            {
                var n = first + i;
                if (i > 0) sb.Append(',');
                sb.Append("{\"type\":\"").Append(type).Append("\",\"email\":\"user").Append(n % users).Append("@example.com\",")
                  .Append("\"fields\":{\"first_name\":\"User\",\"last_name\":\"N").Append(n).Append("\"},\"details\":{\"n\":").Append(n).Append("}}");
            }
            return sb.Append("]}").ToString();
        }

        /// <summary>GETs an inspection API path (relative to the root) and parses it.</summary>
        public async Task<JsonDocument> GetJsonAsync(string pathAndQuery) => JsonDocument.Parse(await GetStringAsync(pathAndQuery));

        public Task<string> GetStringAsync(string pathAndQuery) => _http.GetStringAsync(new Uri(_base, pathAndQuery));

        public Task<HttpResponseMessage> GetAsync(string pathAndQuery) => _http.GetAsync(new Uri(_base, pathAndQuery));

        public Task<HttpResponseMessage> PostEmptyAsync(string pathAndQuery) => _http.PostAsync(new Uri(_base, pathAndQuery), null);

        /// <summary>Sends <paramref name="request"/> as it is (headers set by the caller).</summary>
        public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request) => _http.SendAsync(request);

        /// <summary>The Basic credentials of the emulator's default keys (or a wrong secret).</summary>
        public static AuthenticationHeaderValue Credentials(string secretKey = BentoEmulatorOptions.DefaultSecretKey)
            => new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(BentoEmulatorOptions.DefaultPublishableKey + ":" + secretKey)));

        public Task<System.IO.Stream> GetStreamAsync(string pathAndQuery) => _http.GetStreamAsync(new Uri(_base, pathAndQuery));

        public void Dispose() => _http.Dispose();
    }
}
