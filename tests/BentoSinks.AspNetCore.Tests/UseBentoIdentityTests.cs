using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net.Http;
using System.Security.Claims;
using System.Threading.Tasks;
using Bento.Emulator;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;
using Serilog;

namespace BentoSinks.AspNetCore.Tests
{
    /// <summary>
    /// <c>UseBentoIdentity</c> in a minimal app on Kestrel (127.0.0.1), whose users sign in through headers (a stand-in
    /// for any authentication handler: the middleware reads <c>HttpContext.User</c>), delivering through the
    /// OpenTelemetry logs exporter to the emulator.
    /// </summary>
    [Collection("Web")]
    public class UseBentoIdentityTests
    {
        private static async Task<WebApplication> StartAsync(BentoEmulator emulator, Action<BentoIdentityOptions>? configure)
        {
            var builder = WebApplication.CreateBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            builder.Services.AddOpenTelemetry().WithLogging(l => l.AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)));
            var app = builder.Build();
            app.Use((context, next) =>
            {
                var claims = context.Request.Headers.Where(h => h.Key.StartsWith("x-claim-", StringComparison.OrdinalIgnoreCase))
                    .Select(h => h.Value.ToString().Split('|', 2)).Select(p => new Claim(p[0], p[1])).ToList();
                if (claims.Count > 0) context.User = new ClaimsPrincipal(new ClaimsIdentity(claims, "test"));
                return next(context);
            });
            app.UseBentoIdentity(configure);
            app.MapPost("/event", (ILogger<UseBentoIdentityTests> logger, string type) =>
            {
#pragma warning disable CA1848, CA2254
                logger.LogInformation("{AnalyticsEvent}", type);
#pragma warning restore CA1848, CA2254
                return Results.Ok();
            });
            await app.StartAsync();
            return app;
        }

        private static async Task PostAsync(WebApplication app, string type, params (string Claim, string Value)[] claims)
        {
            using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            using var request = new HttpRequestMessage(HttpMethod.Post, "/event?type=" + type);
            for (var i = 0; i < claims.Length; i++) request.Headers.Add("x-claim-" + i, claims[i].Claim + "|" + claims[i].Value);
            using var response = await client.SendAsync(request);
            response.EnsureSuccessStatusCode();
        }

        [Fact]
        public async Task The_default_claims_are_the_short_and_the_mapped_names_and_other_claims_can_be_configured()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            await using (var app = await StartAsync(emulator, configure: null))
            {
                await PostAsync(app, "short", ("email", "ada@example.com"), ("given_name", "Ada"), ("family_name", "Lovelace"));
                await PostAsync(app, "mapped", (ClaimTypes.Email, "grace@example.com"), (ClaimTypes.GivenName, "Grace"), (ClaimTypes.Surname, "Hopper"));
                await PostAsync(app, "not_an_email", ("email", "ada"), ("given_name", "Ada"));
                await app.StopAsync();
            }
            await using (var app = await StartAsync(emulator, o =>
                   {
                       o.EmailClaimTypes.Clear();
                       o.EmailClaimTypes.Add("upn");
                       o.FirstNameClaimTypes.Insert(0, "nickname");
                   }))
            {
                await PostAsync(app, "configured", ("upn", "linus@example.com"), ("nickname", "Lin"), ("given_name", "Linus"), ("email", "ignored@example.com"));
                await app.StopAsync();
            }
            var byType = emulator.Events.ToDictionary(e => e.Type);
            Assert.Equal(new[] { "configured", "mapped", "short" }, byType.Keys.OrderBy(k => k, StringComparer.Ordinal));
            Assert.Equal(("ada@example.com", "Ada", "Lovelace"), (byType["short"].Email, byType["short"].Field("first_name")?.GetString(), byType["short"].Field("last_name")?.GetString()));
            Assert.Equal(("grace@example.com", "Grace", "Hopper"), (byType["mapped"].Email, byType["mapped"].Field("first_name")?.GetString(), byType["mapped"].Field("last_name")?.GetString()));
            Assert.Equal(("linus@example.com", "Lin"), (byType["configured"].Email, byType["configured"].Field("first_name")?.GetString()));
        }

        [Fact]
        public async Task An_event_recorded_on_the_request_activity_inside_another_users_scope_is_never_sent_as_the_signed_in_user()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var builder = WebApplication.CreateBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            builder.Services.AddOpenTelemetry().WithTracing(t => t.AddAspNetCoreInstrumentation().AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)));
            await using (var app = builder.Build())
            {
                app.Use((context, next) =>
                {
                    context.User = new ClaimsPrincipal(new ClaimsIdentity(new[] { new Claim("email", "admin@example.com") }, "test"));
                    return next(context);
                });
                app.UseBentoIdentity();
                app.MapPost("/gift", (HttpContext context) =>
                {
                    var request = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpActivityFeature>()!.Activity;
                    request.AddEvent(new ActivityEvent("gift_sent", tags: new ActivityTagsCollection { ["analytics.event"] = true }));
                    // The admin acts for a customer: the customer's event, recorded on the request's activity.
                    using (BentoIdentity.Push("grace@example.com", "Grace"))
                        request.AddEvent(new ActivityEvent("gift_received", tags: new ActivityTagsCollection { ["analytics.event"] = true }));
                    return Results.Ok();
                });
                await app.StartAsync();
                using (var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) })
                using (var response = await client.PostAsync("/gift", null)) response.EnsureSuccessStatusCode();
                await app.StopAsync();
            }
            var byType = emulator.Events.ToDictionary(e => e.Type);
            Assert.Equal("admin@example.com", byType["gift_sent"].Email);
            // Recorded while both the admin's request and Grace's scope were open: no one's, and never the admin's.
            Assert.False(byType.ContainsKey("gift_received"), "gift_received was sent as " + (byType.TryGetValue("gift_received", out var e) ? e.Email : ""));
        }

        [Theory]
        [InlineData(false, true)]
        [InlineData(true, false)]
        public void The_startup_check_warns_when_Serilog_keeps_log_records_from_the_OpenTelemetry_logs_exporter(bool writeToProviders, bool warns)
        {
            var builder = WebApplication.CreateBuilder();
            builder.Services.AddSerilog((_, c) => c.MinimumLevel.Fatal(), preserveStaticLogger: true, writeToProviders: writeToProviders);
            builder.Services.AddOpenTelemetry().WithLogging(l => l.AddBentoExporter(o =>
            {
                o.SiteUuid = "site";
                o.PublishableKey = "p";
                o.SecretKey = "s";
            }));
            using var app = builder.Build();
            var problem = LoggingSetupCheck.Problem(app.Services);
            Assert.Equal(warns, problem != null);
            if (warns) Assert.Contains("writeToProviders: true", problem, StringComparison.Ordinal);
        }
    }
}
