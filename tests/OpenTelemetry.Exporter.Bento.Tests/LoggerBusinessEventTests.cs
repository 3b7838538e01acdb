using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>
    /// The ILogger ways to write a business event without the type in the message: a [LoggerMessage] method whose
    /// <c>analyticsEvent</c> parameter is left out of the template, and <c>BeginBentoEvent</c> scopes.
    /// </summary>
    internal static partial class SignupLog
    {
        // SYSLIB1015 says the parameter is not in the message: that is the point (the generator still passes it as an
        // attribute of the record, named after the parameter).
#pragma warning disable SYSLIB1015
        [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Signed up for {plan} with {seats} seats")]
        public static partial void SignupCompleted(this ILogger logger, string analyticsEvent, string plan, int seats);
#pragma warning restore SYSLIB1015

        [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "Trial started: {days} days")]
        public static partial void TrialStarted(this ILogger logger, int days);
    }

    [Collection("Exporter")]
    public class LoggerBusinessEventTests
    {
        /// <summary>Every message the app's human-readable log would show, formatted as a console provider does.</summary>
        private sealed class MessageLog : ILoggerProvider, ILogger
        {
            public ConcurrentQueue<string> Lines { get; } = new ConcurrentQueue<string>();
            public ILogger CreateLogger(string categoryName) => this;
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
                => Lines.Enqueue(formatter(state, exception));
            public void Dispose() { }
        }

        private static ServiceProvider Logging(BentoEmulator emulator, MessageLog messages, bool includeScopes, Action<BentoExporterOptions>? configure = null)
        {
            var services = new ServiceCollection();
            services.AddLogging(b => b.AddProvider(messages));
            services.AddOpenTelemetry().WithLogging(
                b => b.AddBentoExporter(o => { EmulatorOptions.Configure(o, emulator); configure?.Invoke(o); }),
                o => o.IncludeScopes = includeScopes);
            return services.BuildServiceProvider();
        }

        [Fact]
        public async Task A_LoggerMessage_method_with_an_analyticsEvent_parameter_left_out_of_its_template_delivers_the_event_and_the_message_has_no_type()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var messages = new MessageLog();
            await using (var sp = Logging(emulator, messages, includeScopes: true))
            {
                var logger = sp.GetRequiredService<ILogger<LoggerBusinessEventTests>>();
                using (logger.BeginScope(new Dictionary<string, object?> { ["Email"] = "ada@example.com", ["FirstName"] = "Ada" }))
                    logger.SignupCompleted("signup_completed", "pro", 3);
            }
            var e = Assert.Single(emulator.Events);
            Assert.Equal("signup_completed", e.Type);
            Assert.Equal("ada@example.com", e.Email);
            Assert.Equal("Ada", e.Field("first_name")?.GetString());
            Assert.Equal("pro", e.Detail("plan")?.GetString());
            Assert.Equal(3, e.Detail("seats")?.GetInt32());
            Assert.Null(e.Detail("analyticsEvent")); // the marker is the type, not a detail
            Assert.Equal("Signed up for pro with 3 seats", Assert.Single(messages.Lines));
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public async Task Records_inside_BeginBentoEvent_are_business_events_of_its_type_with_or_without_IncludeScopes_and_their_messages_have_no_type(bool includeScopes)
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var messages = new MessageLog();
            await using (var sp = Logging(emulator, messages, includeScopes))
            {
                var logger = sp.GetRequiredService<ILogger<LoggerBusinessEventTests>>();
                using var identity = BentoSinks.BentoIdentity.Push("ada@example.com");
                using (logger.BeginBentoEvent("trial_started"))
                    logger.TrialStarted(14);                                  // a [LoggerMessage] method with no marker at all
                using (logger.BeginBentoEvent("plan_changed"))
                    logger.LogInformation("Plan changed to {plan}", "team"); // a plain LogInformation
                using (logger.BeginBentoEvent("outer"))
                using (logger.BeginBentoEvent("seat_added"))
                    logger.LogInformation("Seat {seat} added", 4);           // the innermost scope wins
                using (logger.BeginBentoEvent("ignored"))
                    logger.SignupCompleted("signup_completed", "pro", 3);    // the record's own marker wins
                logger.LogInformation("After the scopes: an ordinary line about {plan}", "pro");
                await Task.Run(() =>
                {
                    using (logger.BeginBentoEvent("from_a_task"))
                        logger.LogInformation("Exported {rows} rows", 12);
                });
            }
            var types = emulator.Events.Select(ev => ev.Type).OrderBy(t => t, StringComparer.Ordinal).ToArray();
            Assert.Equal(new[] { "from_a_task", "plan_changed", "seat_added", "signup_completed", "trial_started" }, types);
            var trial = emulator.Events.Single(ev => ev.Type == "trial_started");
            Assert.Equal(14, trial.Detail("days")?.GetInt32());
            Assert.Null(trial.Detail("AnalyticsEvent"));
            Assert.Equal(4, emulator.Events.Single(ev => ev.Type == "seat_added").Detail("seat")?.GetInt32());
            Assert.Equal(
                new[]
                {
                    "Trial started: 14 days", "Plan changed to team", "Seat 4 added", "Signed up for pro with 3 seats",
                    "After the scopes: an ordinary line about pro", "Exported 12 rows",
                },
                messages.Lines.ToArray());
            Assert.DoesNotContain(messages.Lines, l => types.Any(t => l.Contains(t, StringComparison.Ordinal)));
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public async Task A_line_written_after_BeginBentoEvent_scopes_ended_out_of_order_is_not_a_business_event(bool includeScopes)
        {
            // Found by LoggerRandomizedTests (seed 24390927): the outer scope ended first, then the inner one made the
            // ended outer scope current again, so every later line on the flow became a "first" event.
            await using var emulator = await BentoEmulator.StartAsync();
            var messages = new MessageLog();
            await using (var sp = Logging(emulator, messages, includeScopes))
            {
                var logger = sp.GetRequiredService<ILogger<LoggerBusinessEventTests>>();
                using var identity = BentoSinks.BentoIdentity.Push("ada@example.com");
                var first = logger.BeginBentoEvent("first");
                var second = logger.BeginBentoEvent("second");
                first.Dispose();
                logger.LogInformation("Inside the second scope only");
                second.Dispose();
                logger.LogInformation("After both scopes: an ordinary line");
            }
            Assert.Equal("second", Assert.Single(emulator.Events).Type);
        }

        [Fact]
        public async Task A_template_that_names_a_hole_twice_gives_one_detail_of_that_name_with_the_last_value()
        {
            // Found by LoggerRandomizedTests (seed 26531418): details held "pad" twice, and the event was measured (and
            // dropped too_large) with both values.
            await using var emulator = await BentoEmulator.StartAsync();
            var messages = new MessageLog();
            await using (var sp = Logging(emulator, messages, includeScopes: true))
            {
                var logger = sp.GetRequiredService<ILogger<LoggerBusinessEventTests>>();
                using var identity = BentoSinks.BentoIdentity.Push("ada@example.com");
                using (logger.BeginBentoEvent("plan_changed"))
                    logger.LogInformation("Plan {plan} for {seats} seats, then {plan}", "pro", 3, "team");
            }
            var e = Assert.Single(emulator.Events);
            Assert.Equal("{\"seats\":3,\"plan\":\"team\"}", e.Json.GetProperty("details").GetRawText());
        }

        [Fact]
        public async Task BeginBentoEvent_works_with_a_renamed_marker_attribute()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var messages = new MessageLog();
            await using (var sp = Logging(emulator, messages, includeScopes: true, o => o.LogAnalyticsAttributeName = "BusinessEvent"))
            {
                var logger = sp.GetRequiredService<ILogger<LoggerBusinessEventTests>>();
                using var identity = BentoSinks.BentoIdentity.Push("ada@example.com");
                using (logger.BeginBentoEvent("trial_started"))
                    logger.TrialStarted(30);
            }
            Assert.Equal("trial_started", Assert.Single(emulator.Events).Type);
        }

        [Fact]
        public void BeginBentoEvent_refuses_a_blank_type()
        {
            var logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
            Assert.Equal("eventType", Assert.Throws<ArgumentException>(() => logger.BeginBentoEvent(" ")).ParamName);
            Assert.Throws<ArgumentNullException>(() => ((ILogger)null!).BeginBentoEvent("x"));
        }
    }
}
