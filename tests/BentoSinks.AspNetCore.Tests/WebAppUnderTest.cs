using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.WebApp;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace BentoSinks.AspNetCore.Tests
{
    /// <summary>
    /// The web sample (samples/BentoSinks.WebApp) through <see cref="WebApplicationFactory{TEntryPoint}"/> (any type of the sample's assembly names it: <see cref="Telemetry"/>), sending to an
    /// emulator on 127.0.0.1 that the test owns, with one of the README's logging combinations.
    /// </summary>
    internal sealed class WebAppUnderTest : IAsyncDisposable
    {
        public const string SigningKey = "test-only signing key of the sample, never a real secret: 0123456789abcdef";
        public const string Issuer = "bentosinks-webapp";

        private readonly WebApplicationFactory<Telemetry> _factory;
        private bool _stopped;

        private WebAppUnderTest(BentoEmulator emulator, LoggingMode logs, bool traces)
        {
            Emulator = emulator;
            _factory = new WebApplicationFactory<Telemetry>().WithWebHostBuilder(b =>
            {
                b.UseSetting("Bento:Endpoint", emulator.ApiBase.ToString());
                b.UseSetting("Bento:SiteUuid", emulator.Options.SiteUuid);
                b.UseSetting("Bento:PublishableKey", emulator.Options.PublishableKey);
                b.UseSetting("Bento:SecretKey", emulator.Options.SecretKey);
                b.UseSetting("Bento:MaxRequestsPerMinute", "0");
                b.UseSetting("Bento:Period", "01:00:00"); // delivered by the flush at host stop
                b.UseSetting("Sample:Logs", logs.ToString());
                b.UseSetting("Sample:Traces", traces ? "true" : "false");
            });
        }

        public BentoEmulator Emulator { get; }

        public IServiceProvider Services => _factory.Services;

        public static async Task<WebAppUnderTest> StartAsync(LoggingMode logs, bool traces)
        {
            var emulator = await BentoEmulator.StartAsync();
            var app = new WebAppUnderTest(emulator, logs, traces);
            _ = app._factory.Server; // starts the host
            return app;
        }

        public static string Token(string email, string firstName, string lastName)
            => SampleTokens.Create(SigningKey, Issuer, Issuer, email, firstName, lastName);

        /// <summary>A client signed in as the user (a bearer token), or anonymous when <paramref name="email"/> is null.</summary>
        public HttpClient Client(string? email = null, string firstName = "First", string lastName = "Last")
        {
            var client = _factory.CreateClient();
            if (email != null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token(email, firstName, lastName));
            return client;
        }

        public static async Task PostAsync(HttpClient client, string path)
        {
            using var response = await client.PostAsync(new Uri(path, UriKind.Relative), content: null);
            Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode}");
        }

        /// <summary>Stops the host: the Serilog sink and the exporters deliver what is queued.</summary>
        public async Task StopAsync()
        {
            if (_stopped) return;
            _stopped = true;
            // The host's StopAsync runs the sample's DeliverOnStop, which flushes the Serilog sink and the exporters.
            await _factory.DisposeAsync();
        }

        /// <summary>Events received, by type then email.</summary>
        public Dictionary<(string Type, string Email), int> Counts()
        {
            var counts = new Dictionary<(string, string), int>();
            foreach (var e in Emulator.Events) counts[(e.Type, e.Email)] = counts.TryGetValue((e.Type, e.Email), out var n) ? n + 1 : 1;
            return counts;
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            await Emulator.DisposeAsync();
        }
    }
}
