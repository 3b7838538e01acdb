using System;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;

namespace Bento.Emulator.Tests
{
    /// <summary>A page on another origin cannot change the emulator's state, and another host name (DNS rebinding) cannot read it.</summary>
    public class BrowserSafetyTests
    {
        [Fact]
        public async Task A_reset_or_a_batch_from_another_origin_is_refused_and_the_emulators_own_page_may_reset()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var raw = new RawBento(emulator.BaseAddress);
            Assert.Equal(200, await raw.PostAsync(RawBento.Batch(1)));
            async Task<HttpStatusCode> ResetAsync(string origin)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(emulator.BaseAddress, "_emulator/reset"));
                request.Headers.TryAddWithoutValidation("Origin", origin);
                using var response = await raw.SendAsync(request);
                return response.StatusCode;
            }
            Assert.Equal(HttpStatusCode.Forbidden, await ResetAsync("http://evil.example"));
            Assert.Equal(HttpStatusCode.Forbidden, await ResetAsync("null"));
            Assert.Equal(403, await raw.PostBytesAsync(System.Text.Encoding.UTF8.GetBytes(RawBento.Batch(1)), origin: "http://evil.example"));
            Assert.Equal(1, emulator.EventCount);
            Assert.Equal(HttpStatusCode.NoContent, await ResetAsync(emulator.BaseAddress.GetLeftPart(UriPartial.Authority)));
            Assert.Equal(0, emulator.EventCount);
        }

        [Theory]
        [InlineData("evil.example", HttpStatusCode.BadRequest)]
        [InlineData("localhost", HttpStatusCode.OK)]
        [InlineData("127.0.0.1", HttpStatusCode.OK)]
        public async Task Only_loopback_host_names_are_answered(string host, HttpStatusCode expected)
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var raw = new RawBento(emulator.BaseAddress);
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(emulator.BaseAddress, "_emulator/events"));
            request.Headers.Host = $"{host}:{emulator.BaseAddress.Port}";
            using var response = await raw.SendAsync(request);
            Assert.Equal(expected, response.StatusCode);
        }

        [Fact]
        public async Task A_configured_host_name_is_answered()
        {
            var options = new BentoEmulatorOptions();
            options.AllowedHosts.Add("host.docker.internal");
            await using var emulator = await BentoEmulator.StartAsync(options);
            using var raw = new RawBento(emulator.BaseAddress);
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(emulator.BaseAddress, "_emulator/events"));
            request.Headers.Host = $"host.docker.internal:{emulator.BaseAddress.Port}";
            using var response = await raw.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }
}
