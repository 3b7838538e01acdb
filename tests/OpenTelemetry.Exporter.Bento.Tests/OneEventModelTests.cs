using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;
using Serilog;
using Serilog.Context;
using Serilog.Events;
using MelLogger = Microsoft.Extensions.Logging.ILogger;
using SerilogLogger = Serilog.ILogger;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>
    /// One event model for both front ends: the same business events written through Serilog, through an
    /// OpenTelemetry activity event and through an OpenTelemetry log record reach Bento as the same bytes.
    /// </summary>
    [Collection("Exporter")]
    public class OneEventModelTests
    {
        private static readonly DateTimeOffset At = new DateTimeOffset(2026, 11, 22, 10, 0, 0, 123, TimeSpan.Zero);

        private static Dictionary<string, object?> Cart() => new Dictionary<string, object?>
        {
            ["items"] = new[] { new Dictionary<string, object?> { ["product_name"] = "Pro plan", ["quantity"] = 1 } },
            ["abandoned_checkout_url"] = "https://shop.example.com/c/1",
        };

        private static BentoPurchase Purchase() => new BentoPurchase("order-42", 1999, "usd", Cart());

        private const string Signup =
            "{\"type\":\"signup_completed\",\"email\":\"ada@example.com\",\"date\":\"2026-11-22T10:00:00.123Z\"," +
            "\"fields\":{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\"},\"details\":{\"plan\":\"pro\",\"seats\":3}}";

        private const string PurchaseEvent =
            "{\"type\":\"$purchase\",\"email\":\"ada@example.com\",\"date\":\"2026-11-22T10:00:00.123Z\"," +
            "\"fields\":{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\"}," +
            "\"details\":{\"unique\":{\"key\":\"order-42\"},\"value\":{\"currency\":\"USD\",\"amount\":1999}," +
            "\"cart\":{\"items\":[{\"product_name\":\"Pro plan\",\"quantity\":1}],\"abandoned_checkout_url\":\"https://shop.example.com/c/1\"}," +
            "\"channel\":\"web\"}}";

        private const string TagEvent =
            "{\"type\":\"$tag\",\"email\":\"ada@example.com\",\"date\":\"2026-11-22T10:00:00.123Z\"," +
            "\"fields\":{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\"},\"details\":{\"tag\":\"vip\"}}";

        [Fact]
        public async Task The_same_business_events_are_byte_identical_from_Serilog_an_activity_event_and_a_log_record()
        {
            var serilog = await ThroughSerilogAsync(log =>
            {
                Write(log.ForAnalytics("signup_completed"), "Signed up for {plan} with {seats} seats", "pro", 3);
                Write(log.ForPurchase(Purchase()), "Order placed via {channel}", "web");
                Write(log.ForAnalytics("$tag"), "Tagged {Tag}", "vip");
            });
            var traces = await ThroughActivityEventsAsync(a =>
            {
                a.AddEvent(Analytics("signup_completed", ("plan", "pro"), ("seats", 3)));
                a.AddEvent(Analytics("$purchase", ("Purchase", Purchase()), ("channel", "web")));
                a.AddEvent(Analytics("$tag", ("tag", "vip")));
            });
            var logs = await ThroughLogRecordsAsync(logger =>
            {
                logger.LogInformation("{AnalyticsEvent}: {plan}, {seats} seats", "signup_completed", "pro", 3);
                logger.LogInformation("{AnalyticsEvent} {Purchase} via {channel}", "$purchase", Purchase(), "web");
                logger.LogInformation("{AnalyticsEvent} {Tag}", "$tag", "vip");
            });

            var expected = new[] { Signup, PurchaseEvent, TagEvent };
            Assert.Equal(expected, serilog);
            Assert.Equal(expected, traces);
            Assert.Equal(expected, logs);
        }

        [Fact]
        public async Task A_template_that_names_a_hole_twice_gives_one_detail_alike_from_Serilog_and_a_log_record()
        {
            var serilog = await ThroughSerilogAsync(log => Write(log.ForAnalytics("plan_changed"), "Plan {plan}, then {plan}", "pro", "team"));
            var logs = await ThroughLogRecordsAsync(logger => logger.LogInformation("{AnalyticsEvent}: plan {plan}, then {plan}", "plan_changed", "pro", "team"));
            Assert.Equal(serilog, logs); // Serilog binds the hole once, to its last value; the log record now does the same
            Assert.EndsWith("\"details\":{\"plan\":\"team\"}}", Assert.Single(logs));
        }

        [Fact]
        public async Task Tag_and_Purchase_are_found_ignoring_case_and_a_null_field_is_left_out_on_every_front_end()
        {
            const string tag = "{\"type\":\"$remove_tag\",\"email\":\"ada@example.com\",\"date\":\"2026-11-22T10:00:00.123Z\",\"fields\":{\"first_name\":\"Ada\"},\"details\":{\"tag\":\"trial\"}}";
            const string purchase = "{\"type\":\"$purchase\",\"email\":\"ada@example.com\",\"date\":\"2026-11-22T10:00:00.123Z\",\"fields\":{\"first_name\":\"Ada\"},\"details\":{\"unique\":{\"key\":\"order-7\"},\"value\":{\"currency\":\"EUR\",\"amount\":500}}}";
            var p = new BentoPurchase("order-7", 500, "EUR");

            var serilog = await ThroughSerilogAsync(log =>
            {
                Write(log.ForAnalytics("$remove_tag"), "Untagged {tag}", "trial");
                Write(log.ForAnalytics("$purchase"), "Bought {@purchase}", p);
            }, lastName: null);
            var traces = await ThroughActivityEventsAsync(a =>
            {
                a.AddEvent(Analytics("$remove_tag", ("TAG", "trial")));
                a.AddEvent(Analytics("$purchase", ("purchase", p)));
            }, lastName: null);
            var logs = await ThroughLogRecordsAsync(logger =>
            {
                logger.LogInformation("{AnalyticsEvent} {tag}", "$remove_tag", "trial");
                logger.LogInformation("{AnalyticsEvent} {PURCHASE}", "$purchase", p);
            }, lastName: null);

            var expected = new[] { tag, purchase };
            Assert.Equal(expected, serilog);
            Assert.Equal(expected, traces);
            Assert.Equal(expected, logs);
        }

        [Fact]
        public async Task Invalid_built_in_events_are_dropped_alike_on_every_front_end()
        {
            var serilog = await ThroughSerilogAsync(log =>
            {
                Write(log.ForAnalytics("$tag"), "Tagged {Tag}", 42);                                 // not a string
                Write(log.ForPurchase(new BentoPurchase("k", -1, "USD")), "Refund");                 // negative amount
                Write(log.ForAnalytics("$purchase"), "Bought {Purchase}", new BentoPurchase("k", 1, "USD")); // not destructured: a string
                Write(log.ForAnalytics("$unsubscribe"), "Bye {reason}", "too many emails");
            });
            var traces = await ThroughActivityEventsAsync(a =>
            {
                a.AddEvent(Analytics("$tag", ("tag", 42)));
                a.AddEvent(Analytics("$purchase", ("Purchase", new BentoPurchase("k", -1, "USD"))));
                a.AddEvent(Analytics("$purchase", ("Purchase", "k 1 USD")));
                a.AddEvent(Analytics("$unsubscribe", ("reason", "too many emails")));
            });
            var logs = await ThroughLogRecordsAsync(logger =>
            {
                logger.LogInformation("{AnalyticsEvent} {Tag}", "$tag", 42);
                logger.LogInformation("{AnalyticsEvent} {Purchase}", "$purchase", new BentoPurchase("k", -1, "USD"));
                logger.LogInformation("{AnalyticsEvent} {Purchase}", "$purchase", "k 1 USD");
                logger.LogInformation("{AnalyticsEvent} {reason}", "$unsubscribe", "too many emails");
            });

            var expected = new[] { "{\"type\":\"$unsubscribe\",\"email\":\"ada@example.com\",\"date\":\"2026-11-22T10:00:00.123Z\"}" };
            Assert.Equal(expected, serilog);
            Assert.Equal(expected, traces);
            Assert.Equal(expected, logs);
        }

        // ---- Serilog: identity from LogContext, the timestamp fixed on the LogEvent ----

        private static async Task<string[]> ThroughSerilogAsync(Action<SerilogLogger> emit, string? lastName = "Lovelace")
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var logger = new LoggerConfiguration()
                .Enrich.FromLogContext()
                .WriteTo.Bento(o =>
                {
                    o.SiteUuid = BentoEmulatorOptions.DefaultSiteUuid;
                    o.PublishableKey = BentoEmulatorOptions.DefaultPublishableKey;
                    o.SecretKey = BentoEmulatorOptions.DefaultSecretKey;
                    o.Endpoint = emulator.ApiBase;
                    o.Period = TimeSpan.FromHours(1);
                    o.MaxRequestsPerMinute = 0;
                })
                .CreateLogger();
            // Identity is given last name first everywhere: fields come out in the mappings' order, whatever the source's.
            using (LogContext.PushProperty("LastName", lastName))
            using (LogContext.PushProperty("FirstName", "Ada"))
            using (LogContext.PushProperty("Email", "ada@example.com"))
                emit(logger);
            await logger.DisposeAsync();
            return emulator.Events.Select(e => e.Json.GetRawText()).ToArray();
        }

        /// <summary>Logs as <c>Information(template, args)</c> would, at the fixed timestamp.</summary>
        private static void Write(SerilogLogger logger, string template, params object?[] args)
        {
            Assert.True(logger.BindMessageTemplate(template, args, out var parsed, out var properties));
            logger.Write(new LogEvent(At, LogEventLevel.Information, null, parsed!, properties!));
        }

        // ---- OpenTelemetry traces: identity from the activity's tags, the timestamp on the event ----

        private static async Task<string[]> ThroughActivityEventsAsync(Action<Activity> emit, string? lastName = "Lovelace")
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)).Build())
            {
                using var activity = source.StartActivity("POST /signup")!;
                activity.SetTag("user.last_name", lastName);
                activity.SetTag("user.first_name", "Ada");
                activity.SetTag("user.email", "ada@example.com");
                emit(activity);
            }
            return emulator.Events.Select(e => e.Json.GetRawText()).ToArray();
        }

        private static ActivityEvent Analytics(string type, params (string Key, object? Value)[] tags)
        {
            var collection = new ActivityTagsCollection { ["analytics.event"] = true };
            foreach (var (key, value) in tags) collection[key] = value;
            return new ActivityEvent(type, At, collection);
        }

        // ---- OpenTelemetry logs: identity from a scope, the timestamp set by a processor ahead of the exporter ----

        private static async Task<string[]> ThroughLogRecordsAsync(Action<MelLogger> emit, string? lastName = "Lovelace")
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddOpenTelemetry().WithLogging(
                b => b.AddProcessor(new FixedTimestamp(At.UtcDateTime)).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)),
                o => o.IncludeScopes = true);
            await using (var sp = services.BuildServiceProvider())
            {
                var logger = sp.GetRequiredService<ILogger<OneEventModelTests>>();
                using (logger.BeginScope(new Dictionary<string, object?> { ["LastName"] = lastName, ["FirstName"] = "Ada", ["Email"] = "ada@example.com" }))
                    emit(logger);
            }
            return emulator.Events.Select(e => e.Json.GetRawText()).ToArray();
        }

        private sealed class FixedTimestamp : BaseProcessor<LogRecord>
        {
            private readonly DateTime _utc;
            public FixedTimestamp(DateTime utc) => _utc = utc;
            public override void OnEnd(LogRecord data) => data.Timestamp = _utc;
        }
    }
}
