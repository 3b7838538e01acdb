using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Net.Http;
using System.Security.Claims;
using System.Threading.Tasks;
using Bento.Emulator;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;

namespace BentoSinks.AspNetCore.Tests
{
    /// <summary>
    /// Claims are input, not truth: an email the token marks unverified, an email hiding characters and a huge name claim
    /// never make a wrong or undeliverable identity. Users sign in from a table the test fills (the <c>x-user</c> header
    /// names the row: any authentication handler sets <c>HttpContext.User</c> the same way); events go through the
    /// OpenTelemetry logs exporter to the emulator; the app's own log is captured.
    /// </summary>
    [Collection("Web")]
    public class ClaimsAreInputTests
    {
        private sealed class CapturedLog : ILoggerProvider
        {
            public ConcurrentQueue<(string Category, LogLevel Level, string Message)> Lines { get; } = new ConcurrentQueue<(string, LogLevel, string)>();
            public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);
            public void Dispose() { }

            private sealed class Logger(CapturedLog owner, string category) : ILogger
            {
                public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
                public bool IsEnabled(LogLevel logLevel) => true;
                public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
                    => owner.Lines.Enqueue((category, logLevel, formatter(state, exception)));
            }
        }

        private sealed class OmittedProbe : IDisposable
        {
            private readonly MeterListener _listener = new MeterListener();
            public ConcurrentDictionary<string, long> ByReason { get; } = new ConcurrentDictionary<string, long>();

            public OmittedProbe()
            {
                _listener.InstrumentPublished = (i, l) => { if (i.Meter.Name == "BentoSinks.Core" && i.Name == "bento.identity.values_omitted") l.EnableMeasurementEvents(i); };
                _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
                {
                    foreach (var t in tags) if (t.Key == "reason") ByReason.AddOrUpdate((string)t.Value!, value, (_, v) => v + value);
                });
                _listener.Start();
            }

            public long For(string reason) => ByReason.TryGetValue(reason, out var n) ? n : 0;
            public void Dispose() => _listener.Dispose();
        }

        private static async Task<(IReadOnlyList<ReceivedEvent> Events, CapturedLog Log)> PlayAsync(
            Dictionary<string, Claim[]> users, Action<BentoIdentityOptions>? configure, BentoMeterProbe? probe = null)
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var log = new CapturedLog();
            var builder = WebApplication.CreateBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(log);
            builder.Services.AddOpenTelemetry().WithLogging(l => l.AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)));
            await using (var app = builder.Build())
            {
                app.Use((context, next) =>
                {
                    if (users.TryGetValue(context.Request.Headers["x-user"].ToString(), out var claims))
                        context.User = new ClaimsPrincipal(new ClaimsIdentity(claims, "test"));
                    return next(context);
                });
                app.UseBentoIdentity(configure);
                app.MapPost("/event", (ILogger<ClaimsAreInputTests> logger, HttpContext context) =>
                {
#pragma warning disable CA1848, CA2254
                    logger.LogInformation("{AnalyticsEvent} {user}", "signup_completed", context.Request.Headers["x-user"].ToString());
#pragma warning restore CA1848, CA2254
                    return Results.Ok();
                });
                await app.StartAsync();
                using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
                foreach (var user in users.Keys)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/event");
                    request.Headers.Add("x-user", user);
                    using var response = await client.SendAsync(request);
                    response.EnsureSuccessStatusCode();
                }
                await app.StopAsync();
            }
            return (emulator.Events, log);
        }

        private static Claim[] User(string email, string firstName, params (string Type, string Value)[] more)
            => new[] { new Claim("email", email), new Claim("given_name", firstName) }.Concat(more.Select(m => new Claim(m.Type, m.Value))).ToArray();

        private static string[] Warnings(CapturedLog log)
            => log.Lines.Where(l => l.Category == "BentoSinks.AspNetCore" && l.Level == LogLevel.Warning).Select(l => l.Message).ToArray();

        [Fact]
        public async Task An_email_the_token_marks_unverified_identifies_nothing_by_default_and_the_warning_says_why()
        {
            using var omitted = new OmittedProbe();
            using var probe = new BentoMeterProbe("OpenTelemetry logs");
            var (events, log) = await PlayAsync(new Dictionary<string, Claim[]>
            {
                ["unverified"] = User("victim@example.com", "Mallory", ("email_verified", "false")),
                ["verified"] = User("grace@example.com", "Grace", ("email_verified", "true")),
                ["no_claim"] = User("ada@example.com", "Ada"),
            }, configure: null);

            Assert.Equal(new[] { ("ada@example.com", "no_claim"), ("grace@example.com", "verified") },
                events.Select(e => (e.Email, e.Detail("user")!.Value.GetString()!)).OrderBy(e => e));
            Assert.DoesNotContain(events, e => e.Field("first_name")?.GetString() == "Mallory");
            Assert.Equal(1, probe.DroppedFor("no_email"));
            Assert.Equal(1, omitted.For("email_unverified"));
            var warning = Assert.Single(Warnings(log));
            Assert.Contains("email_verified=false", warning, StringComparison.Ordinal);
            Assert.Contains("AllowUnverifiedEmail", warning, StringComparison.Ordinal);
            Assert.DoesNotContain("victim", warning, StringComparison.Ordinal);
        }

        [Fact]
        public async Task An_email_the_token_marks_unverified_is_used_when_the_option_allows_it()
        {
            var (events, log) = await PlayAsync(new Dictionary<string, Claim[]>
            {
                ["unverified"] = User("ada@example.com", "Ada", ("email_verified", "false")),
            }, o => o.AllowUnverifiedEmail = true);
            var e = Assert.Single(events);
            Assert.Equal(("ada@example.com", "Ada"), (e.Email, e.Field("first_name")?.GetString()));
            Assert.Empty(Warnings(log));
        }

        [Fact]
        public async Task An_email_claim_with_a_bidi_override_a_control_or_an_invisible_character_identifies_nothing()
        {
            using var omitted = new OmittedProbe();
            var (events, log) = await PlayAsync(new Dictionary<string, Claim[]>
            {
                ["bidi"] = User("ada@exa\u202Emple.com", "Ada"),
                ["isolate"] = User("ada@\u2067example.com", "Ada"),
                ["zero_width"] = User("ad\u200Ba@example.com", "Ada"),
                ["control"] = User("ada@example.com\u0007", "Ada"),
                ["filler"] = User("ada\u3164@example.com", "Ada"),
                ["plain"] = User("grace@example.com", "Grace"),
            }, configure: null);

            var e = Assert.Single(events);
            Assert.Equal(("grace@example.com", "plain"), (e.Email, e.Detail("user")?.GetString()));
            Assert.Equal(5, omitted.For("email_refused"));
            Assert.Contains("bidi-override", Assert.Single(Warnings(log)), StringComparison.Ordinal); // rate-limited: one line
        }

        [Fact]
        public async Task A_five_megabyte_name_claim_is_left_out_and_counted_and_the_event_is_delivered()
        {
            using var omitted = new OmittedProbe();
            using var probe = new BentoMeterProbe("OpenTelemetry logs");
            var (events, log) = await PlayAsync(new Dictionary<string, Claim[]>
            {
                ["huge"] = User("ada@example.com", new string('A', 5 * 1024 * 1024), ("family_name", "Lovelace")),
            }, configure: null);

            var e = Assert.Single(events);
            Assert.Equal(("ada@example.com", "Lovelace"), (e.Email, e.Field("last_name")?.GetString()));
            Assert.Null(e.Field("first_name"));
            Assert.Equal(0, probe.DroppedTotal);
            Assert.Equal(1, omitted.For("name_too_long"));
            Assert.Contains(BentoIdentity.MaxNameLength.ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(Warnings(log)), StringComparison.Ordinal);
        }
    }
}
