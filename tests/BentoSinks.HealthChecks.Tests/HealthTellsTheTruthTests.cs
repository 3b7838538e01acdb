using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Serilog;

namespace BentoSinks.HealthChecks.Tests
{
    /// <summary>
    /// The health check tells a wrong setting (404, a redirect, a refused TLS certificate) from a transient problem, does
    /// not count what is skipped by design, does not call an answer that is not Bento's a success, and says when nothing
    /// is verified yet. A Serilog sink delivering over real HTTP (the emulator, or a TLS server on 127.0.0.1).
    /// </summary>
    [Collection("SelfLog")]
    public class HealthTellsTheTruthTests
    {
        private static void AssertWrongSetting(HealthReportEntry entry, string what)
        {
            Assert.Equal(HealthStatus.Unhealthy, entry.Status);
            Assert.Contains("Serilog: a wrong setting since", entry.Description, StringComparison.Ordinal);
            Assert.Contains(what, entry.Description, StringComparison.Ordinal);
            Assert.Contains("will not heal on its own", entry.Description, StringComparison.Ordinal);
            HealthProbe.AssertCountsOnly(entry);
        }

        [Fact]
        public async Task An_endpoint_that_answers_404_is_Unhealthy_as_a_wrong_setting_not_Degraded_as_a_transient_problem()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var time = new FakeTimeProvider(Pipelines.Start);
            using var probe = new HealthProbe();
            await using var logger = Pipelines.NewSerilog(emulator, time, o => o.BatchSizeLimit = 5);
            emulator.SetRandomFaults(1.0, 1, Fault.WithStatus(404));
            Pipelines.Signup(logger, 15);
            Assert.True(await emulator.PumpUntil(time, Pipelines.Until("Serilog", p => p.Dropped.TryGetValue("rejected", out var n) && n == 15)));

            var entry = await probe.CheckAsync();
            AssertWrongSetting(entry, "HTTP 404");
            Assert.Equal(15L, entry.Data["Serilog.dropped.rejected"]);
            Assert.Equal(3, emulator.RequestCount);
        }

        [Fact]
        public async Task A_redirect_is_Unhealthy_as_a_wrong_setting_until_Bento_accepts_a_request()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var time = new FakeTimeProvider(Pipelines.Start);
            using var probe = new HealthProbe();
            await using var logger = Pipelines.NewSerilog(emulator, time);
            emulator.EnqueueFaults(Fault.Redirect(301, "https://app.bentonow.com/login"));
            Pipelines.Signup(logger);
            Assert.True(await emulator.PumpUntil(time, Pipelines.Until("Serilog", p => p.WrongSettingSince != null)));
            AssertWrongSetting(await probe.CheckAsync(), "redirect");

            Pipelines.Signup(logger); // the setting was fixed (here: the fault is gone): the next success ends it
            Assert.True(await emulator.PumpUntil(time, Pipelines.Until("Serilog", p => p.Sent == 1)));
            var entry = await probe.CheckAsync();
            Assert.NotEqual(HealthStatus.Unhealthy, entry.Status);
            Assert.Null(Pipelines.Single("Serilog").WrongSettingSince);
        }

        [Fact]
        public async Task A_TLS_certificate_for_another_name_is_Unhealthy_as_a_wrong_setting()
        {
            using var certificate = CertificateFor("not-bento.example");
            var builder = WebApplication.CreateBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate)));
            await using var server = builder.Build();
            server.MapPost("/api/v1/batch/events", () => Results.Json(new { results = 1, failed = 0 }));
            await server.StartAsync();

            using var probe = new HealthProbe();
            await using var logger = new LoggerConfiguration().WriteTo.Bento(o =>
            {
                o.Endpoint = new Uri(server.Urls.First() + "/api/v1");
                o.SiteUuid = "site-123";
                o.PublishableKey = "pk-0123456789";
                o.SecretKey = "sk-0123456789";
                o.Period = TimeSpan.FromSeconds(1);
            }).CreateLogger();
            Pipelines.Signup(logger);
            // Real time (the handshake): woken by the pipeline's measurements, never by sleeping.
            Assert.True(await Pipelines.WaitUntilAsync("Serilog", p => p.WrongSettingSince != null), "the refused certificate was never reported");
            AssertWrongSetting(await probe.CheckAsync(), "TLS certificate was refused");
        }

        [Fact]
        public async Task An_anonymous_or_excluded_event_leaves_the_check_Healthy_by_default_and_an_option_counts_no_email()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var time = new FakeTimeProvider(Pipelines.Start);
            using var byDefault = new HealthProbe();
            using var counting = new HealthProbe(o => o.IgnoredDropReasons.Remove("no_email"));
            await using var logger = Pipelines.NewSerilog(emulator, time);
            Pipelines.Signup(logger);
            Assert.True(await emulator.PumpUntil(time, Pipelines.Until("Serilog", p => p.Sent == 1)));

            logger.ForAnalytics("$view").ForContext("Email", Pipelines.Email).Information("Viewed a page");
            logger.ForAnalytics("signup_completed").Information("Anonymous signup");
            var entry = await byDefault.CheckAsync();
            Assert.Equal(HealthStatus.Healthy, entry.Status);
            Assert.Equal(1L, entry.Data["Serilog.dropped.no_email"]); // still counted in the data
            Assert.Equal(1L, entry.Data["Serilog.dropped.excluded"]);
            entry = await counting.CheckAsync();
            Assert.Equal(HealthStatus.Degraded, entry.Status);
            Assert.Contains("last: no_email", entry.Description, StringComparison.Ordinal);
        }

        [Fact]
        public async Task Empty_2xx_answers_are_unconfirmed_not_sent_and_Degraded_with_words_about_a_proxy()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var time = new FakeTimeProvider(Pipelines.Start);
            using var probe = new HealthProbe();
            await using var logger = Pipelines.NewSerilog(emulator, time);
            emulator.SetRandomFaults(1.0, 1, Fault.WithBody(200, null, contentType: null));
            Pipelines.Signup(logger, 5);
            Assert.True(await emulator.PumpUntil(time, Pipelines.Until("Serilog", p => p.InFlight == 0 && p.Offered == 5)));

            var status = Pipelines.Single("Serilog");
            Assert.Equal(0, status.Sent);
            Assert.Equal(5L, status.Dropped["unconfirmed"]);
            Assert.False(status.IsVerified);
            var entry = await probe.CheckAsync();
            Assert.Equal(HealthStatus.Degraded, entry.Status);
            Assert.Contains("without Bento's JSON result", entry.Description, StringComparison.Ordinal);
            Assert.Contains("proxy, a captive portal", entry.Description, StringComparison.Ordinal);
            Assert.Equal(0L, entry.Data["Serilog.sent"]);
        }

        [Fact]
        public async Task Before_the_first_request_the_check_is_Healthy_and_says_not_verified_yet()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var time = new FakeTimeProvider(Pipelines.Start);
            using var probe = new HealthProbe();
            await using var logger = Pipelines.NewSerilog(emulator, time);

            var entry = await probe.CheckAsync();
            Assert.Equal(HealthStatus.Healthy, entry.Status);
            Assert.StartsWith("Not verified yet: Bento has accepted no request of Serilog", entry.Description, StringComparison.Ordinal);
            Assert.False(Pipelines.Single("Serilog").IsVerified);

            Pipelines.Signup(logger);
            Assert.True(await emulator.PumpUntil(time, Pipelines.Until("Serilog", p => p.Sent == 1)));
            entry = await probe.CheckAsync();
            Assert.Equal(("Delivering to Bento: Serilog.", true), (entry.Description, Pipelines.Single("Serilog").IsVerified));
        }

        /// <summary>The writer the docs show: the status and each check's description in <c>/health</c>'s body.</summary>
        internal static Task WriteDescriptions(HttpContext context, HealthReport report)
        {
            context.Response.ContentType = "text/plain; charset=utf-8";
            var lines = report.Entries.Select(e => $"{e.Key}: {e.Value.Status}: {e.Value.Description}");
            return context.Response.WriteAsync(report.Status + "\n" + string.Join("\n", lines) + "\n");
        }

        [Fact]
        public async Task A_response_writer_puts_the_checks_description_in_the_health_endpoints_body()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var time = new FakeTimeProvider(Pipelines.Start);
            await using var logger = Pipelines.NewSerilog(emulator, time, o => o.SecretKey = "wrong-secret-key");
            Pipelines.Signup(logger);
            Assert.True(await emulator.PumpUntil(time, Pipelines.Until("Serilog", p => p.IsUnauthorized)));

            var builder = WebApplication.CreateBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Services.AddHealthChecks().AddBentoHealthCheck();
            await using var app = builder.Build();
            app.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = WriteDescriptions });
            await app.StartAsync();
            using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            using var response = await client.GetAsync(new Uri("/health", UriKind.Relative));
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.StartsWith("Unhealthy\nbento: Unhealthy: Serilog: Bento has refused the credentials (401/403)", body, StringComparison.Ordinal);
            Assert.DoesNotContain("wrong-secret-key", body, StringComparison.Ordinal);
        }

        private static X509Certificate2 CertificateFor(string name)
        {
            using var key = RSA.Create(2048);
            var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName(name);
            request.CertificateExtensions.Add(san.Build());
            using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
        }
    }
}
