using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks;
using BentoSinks.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>
    /// The ILogger business-event path under misuse: <c>BeginBentoEvent</c> scopes that outlive their <c>using</c> in
    /// background work, scopes ended out of order, records whose state throws. Each record is delivered once as what it
    /// is, or counted.
    /// </summary>
    [Collection("Exporter")]
    public class LoggerBusinessEventAttackTests
    {
        private static ServiceProvider Logging(BentoEmulator emulator, bool includeScopes, Action<BentoExporterOptions>? configure = null)
        {
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddOpenTelemetry().WithLogging(
                b => b.AddBentoExporter(o => { EmulatorOptions.Configure(o, emulator); configure?.Invoke(o); }),
                o => o.IncludeScopes = includeScopes);
            return services.BuildServiceProvider();
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public async Task A_line_logged_by_background_work_after_its_BeginBentoEvent_scope_ended_is_not_a_business_event(bool includeScopes)
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var meters = new BentoMeterProbe("OpenTelemetry logs");
            await using (var sp = Logging(emulator, includeScopes))
            {
                await LoggerScopePrograms.EventThenLateBackgroundLineAsync(sp.GetRequiredService<ILogger<LoggerBusinessEventAttackTests>>());
            }
            var e = Assert.Single(emulator.Events);
            Assert.Equal("signup_completed", e.Type);
            Assert.Equal("pro", e.Detail("plan")?.GetString());
            Assert.Equal(1, meters.Sent);
            Assert.Equal(0, meters.DroppedTotal);
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public async Task BeginBentoEvent_scopes_ended_out_of_order_leave_no_event_type_behind(bool includeScopes)
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var meters = new BentoMeterProbe("OpenTelemetry logs");
            await using (var sp = Logging(emulator, includeScopes))
            {
                var logger = sp.GetRequiredService<ILogger<LoggerBusinessEventAttackTests>>();
                using var identity = BentoIdentity.Push("ada@example.com");
                var outer = logger.BeginBentoEvent("plan_changed");
                var inner = logger.BeginBentoEvent("seat_added");
                logger.LogInformation("Seat {seat} added", 4);
                outer.Dispose(); // out of order
                logger.LogInformation("Still inside the seat scope: {seat}", 5);
                inner.Dispose();
                logger.LogInformation("An ordinary line after both scopes ended");
                await Task.Run(() => logger.LogInformation("An ordinary line from a task after both scopes ended"));
            }
            Assert.Equal(new[] { "seat_added", "seat_added" }, emulator.Events.Select(ev => ev.Type).ToArray());
            Assert.Equal(2, meters.Sent);
            Assert.Equal(0, meters.DroppedTotal);
        }

        [Fact]
        public async Task A_BeginBentoEvent_scope_disposed_on_another_thread_marks_no_later_line_of_the_flow_that_opened_it()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var meters = new BentoMeterProbe("OpenTelemetry logs");
            await using (var sp = Logging(emulator, includeScopes: false))
            {
                var logger = sp.GetRequiredService<ILogger<LoggerBusinessEventAttackTests>>();
                using var identity = BentoIdentity.Push("ada@example.com");
                var scope = logger.BeginBentoEvent("export_finished");
                logger.LogInformation("Exported {rows} rows", 12);
                await Task.Run(() => scope.Dispose()); // e.g. handed to a callback that ends it
                logger.LogInformation("An ordinary line after the scope ended");
            }
            Assert.Equal("export_finished", Assert.Single(emulator.Events).Type);
            Assert.Equal(1, meters.Sent);
        }
    
        /// <summary>A scope whose enumeration throws, as a dictionary shared as scope state throws when another thread changes it.</summary>
        private sealed class ChangingScope : IEnumerable<KeyValuePair<string, object?>>
        {
            public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
            {
                yield return new KeyValuePair<string, object?>("TenantId", "t-1");
                throw new InvalidOperationException("Collection was modified; enumeration operation may not execute. ada@example.com");
            }

            System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
        }

        /// <summary>Log state with a computed attribute that throws when read (the SDK itself reads only the last, <c>{OriginalFormat}</c>).</summary>
        private sealed class ThrowingState : IReadOnlyList<KeyValuePair<string, object?>>
        {
            public int Count => 2;
            public KeyValuePair<string, object?> this[int index] => index == 1
                ? new KeyValuePair<string, object?>("{OriginalFormat}", "Signed up")
                : throw new InvalidOperationException("state changed under the reader: ada@example.com");
            public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() { yield return this[0]; yield return this[1]; }
            System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
            public override string ToString() => "Signed up";
        }

        /// <summary>Log state of a hand-written logging call with a null attribute name before its marker.</summary>
        private sealed class NullKeyState : IReadOnlyList<KeyValuePair<string, object?>>
        {
            private static readonly KeyValuePair<string, object?>[] Pairs =
            {
                new KeyValuePair<string, object?>(null!, "x"),
                new KeyValuePair<string, object?>("AnalyticsEvent", "report_exported"),
                new KeyValuePair<string, object?>("{OriginalFormat}", "Report exported"),
            };
            public int Count => Pairs.Length;
            public KeyValuePair<string, object?> this[int index] => Pairs[index];
            public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)Pairs).GetEnumerator();
            System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
        }

        [Fact]
        public async Task A_record_with_a_null_attribute_name_before_its_marker_is_still_delivered()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var meters = new BentoMeterProbe("OpenTelemetry logs");
            await using (var sp = Logging(emulator, includeScopes: true))
            {
                var logger = sp.GetRequiredService<ILogger<LoggerBusinessEventAttackTests>>();
                using var identity = BentoIdentity.Push("ada@example.com");
                logger.Log(LogLevel.Information, default, new NullKeyState(), null, (_, _) => "Report exported");
            }
            Assert.Equal("report_exported", Assert.Single(emulator.Events).Type);
            Assert.Equal(1, meters.Sent);
        }

        [Fact]
        public async Task A_business_event_whose_scopes_or_state_throw_when_read_is_counted_invalid_not_lost_silently()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var meters = new BentoMeterProbe("OpenTelemetry logs");
            await using (var sp = Logging(emulator, includeScopes: true))
            {
                var logger = sp.GetRequiredService<ILogger<LoggerBusinessEventAttackTests>>();
                using var identity = BentoIdentity.Push("ada@example.com");
                using (logger.BeginScope(new ChangingScope()))
                using (logger.BeginBentoEvent("signup_completed"))
                    logger.LogInformation("Signed up for {plan}", "pro");   // the scope throws
                using (logger.BeginBentoEvent("trial_started"))
                    logger.Log(LogLevel.Information, default, new ThrowingState(), null, (s, _) => s.ToString()); // the state throws
                using (logger.BeginBentoEvent("export_finished"))
                    logger.LogInformation("Exported {Rows}", new ChangingScope()); // a detail whose enumeration throws
                using (logger.BeginBentoEvent("plan_changed"))
                    logger.LogInformation("Plan changed to {plan}", "team"); // an ordinary event still goes
            }
            Assert.Equal("plan_changed", Assert.Single(emulator.Events).Type);
            Assert.Equal(1, meters.Sent);
            Assert.Equal(3, meters.DroppedFor("invalid"));
            Assert.Equal(3, meters.DroppedTotal);
        }
    
        /// <summary>Rows read lazily, like an EF Core query: reading them logs the command (with its parameters) first.</summary>
        private sealed class QueryRows : IEnumerable<int>
        {
            private readonly ILogger _logger;
            public QueryRows(ILogger logger) => _logger = logger;
            public IEnumerator<int> GetEnumerator()
            {
                _logger.LogInformation("Executed DbCommand ({elapsed}ms) {parameters}", 3, new List<string> { "@p0='grace@example.com'" });
                yield return 1;
                yield return 2;
            }
            System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
        }

        [Fact]
        public async Task A_detail_whose_reading_logs_a_line_keeps_the_event_intact()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var meters = new BentoMeterProbe("OpenTelemetry logs");
            await using (var sp = Logging(emulator, includeScopes: true))
            {
                var logger = sp.GetRequiredService<ILogger<LoggerBusinessEventAttackTests>>();
                using var identity = BentoIdentity.Push("ada@example.com");
                using (logger.BeginBentoEvent("export_finished"))
                    logger.LogInformation("Exported {Rows} on {Plan} with {Tags}", new QueryRows(logger), "pro", new[] { "a", "b" });
            }
            Assert.Empty(emulator.RefusedRequests);
            var export = Assert.Single(emulator.Events, e => e.Detail("Rows") != null);
            Assert.Equal("[1,2]", export.Detail("Rows")?.GetRawText());
            Assert.Equal("pro", export.Detail("Plan")?.GetString());
            Assert.Equal("[\"a\",\"b\"]", export.Detail("Tags")?.GetRawText());
            Assert.Null(export.Detail("parameters"));
            Assert.Equal(0, meters.DroppedTotal);
        }

        [Fact]
        public async Task A_business_event_whose_message_formatter_throws_is_still_delivered_and_nothing_escapes_to_the_caller()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var meters = new BentoMeterProbe("OpenTelemetry logs");
            await using (var sp = Logging(emulator, includeScopes: true))
            {
                var logger = sp.GetRequiredService<ILogger<LoggerBusinessEventAttackTests>>();
                using var identity = BentoIdentity.Push("ada@example.com");
                var state = new List<KeyValuePair<string, object?>> { new("plan", "pro"), new("{OriginalFormat}", "Signed up for {plan}") };
                using (logger.BeginBentoEvent("signup_completed"))
                    logger.Log(LogLevel.Information, default, state, null, (_, _) => throw new FormatException("bad format for ada@example.com"));
            }
            Assert.Equal("pro", Assert.Single(emulator.Events).Detail("plan")?.GetString());
            Assert.Equal(1, meters.Sent);
        }

        [Fact]
        public async Task An_analyticsEvent_type_larger_than_a_request_is_counted_too_large_and_the_next_event_still_goes()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var meters = new BentoMeterProbe("OpenTelemetry logs");
            await using (var sp = Logging(emulator, includeScopes: true, o => o.MaxRequestBytes = 64 * 1024))
            {
                var logger = sp.GetRequiredService<ILogger<LoggerBusinessEventAttackTests>>();
                using var identity = BentoIdentity.Push("ada@example.com");
                logger.SignupCompletedOrNot(new string('x', 100_000), "pro");
                logger.SignupCompletedOrNot("signup_completed", "pro");
            }
            Assert.Equal("signup_completed", Assert.Single(emulator.Events).Type);
            Assert.Equal(1, meters.Sent);
            Assert.Equal(1, meters.DroppedFor("too_large"));
            Assert.Equal(1, meters.DroppedTotal);
        }

        [Fact]
        public async Task An_analyticsEvent_marker_that_is_not_a_string_is_counted_invalid_and_a_null_or_empty_one_marks_no_event()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var meters = new BentoMeterProbe("OpenTelemetry logs");
            await using (var sp = Logging(emulator, includeScopes: true))
            {
                var logger = sp.GetRequiredService<ILogger<LoggerBusinessEventAttackTests>>();
                using var identity = BentoIdentity.Push("ada@example.com");
                logger.Shipped(ShipEvent.OrderShipped, "o-1");     // an enum: the developer meant an event
                logger.LogInformation("Flag {AnalyticsEvent}", true); // a bool, as the trace marker is
                logger.SignupCompletedOrNot(null, "pro");            // null: an ordinary line
                logger.SignupCompletedOrNot("", "pro");              // empty: an ordinary line
                logger.SignupCompletedOrNot("signup_completed", "pro");
                using (logger.BeginScope(new Dictionary<string, object?> { ["AnalyticsEvent"] = 42 }))
                    logger.LogInformation("A line under a scope whose marker is not a string");
            }
            Assert.Equal("signup_completed", Assert.Single(emulator.Events).Type);
            Assert.Equal(1, meters.Sent);
            Assert.Equal(2, meters.DroppedFor("invalid"));
            Assert.Equal(2, meters.DroppedTotal);
        }

        /// <summary>A mutable object an app reuses from one user to the next (a batch job's DTO).</summary>
        private sealed class ProfileRow
        {
            public string Company { get; set; } = "";
            public override string ToString() => "company " + Company;
        }

        [Fact]
        public async Task A_business_event_keeps_its_details_as_they_were_when_logged_though_the_app_reuses_the_objects_for_the_next_user()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var meters = new BentoMeterProbe("OpenTelemetry logs");
            await using (var sp = Logging(emulator, includeScopes: true))
            {
                var logger = sp.GetRequiredService<ILogger<LoggerBusinessEventAttackTests>>();
                var items = new List<string> { "Ada's book" };
                var answers = new Dictionary<string, object?> { ["employer"] = "Analytical Engines Ltd" };
                var row = new ProfileRow { Company = "Analytical Engines Ltd" };
                using (BentoIdentity.Push("ada@example.com"))
                using (logger.BeginBentoEvent("profile_synced"))
                    logger.LogInformation("Synced {Items} {Answers} {Row}", items, answers, row);
                var cart = new Dictionary<string, object?> { ["items"] = items };
                using (BentoIdentity.Push("ada@example.com"))
                using (logger.BeginBentoEvent("$purchase"))
                    logger.LogInformation("Bought {Purchase}", new BentoPurchase("order-1", 1999, "USD", cart));
                // The batch job moves on to Grace, reusing its objects, while Ada's events still wait for their batch.
                items.Clear(); items.Add("Grace's compiler");
                answers["employer"] = "US Navy";
                row.Company = "US Navy";
                using (BentoIdentity.Push("grace@example.com"))
                using (logger.BeginBentoEvent("profile_synced"))
                    logger.LogInformation("Synced {Items} {Answers} {Row}", items, answers, row);
                using (BentoIdentity.Push("grace@example.com"))
                using (logger.BeginBentoEvent("$purchase"))
                    logger.LogInformation("Bought {Purchase}", new BentoPurchase("order-2", 500, "USD", cart));
            }
            var ada = emulator.Events.Single(e => e.Email == "ada@example.com" && e.Type == "profile_synced");
            Assert.Equal("[\"Ada's book\"]", ada.Detail("Items")?.GetRawText());
            Assert.Equal("Analytical Engines Ltd", ada.Detail("Answers")?.GetProperty("employer").GetString());
            Assert.Equal("company Analytical Engines Ltd", ada.Detail("Row")?.GetString());
            var graceSync = emulator.Events.Single(e => e.Email == "grace@example.com" && e.Type == "profile_synced");
            Assert.Equal("[\"Grace's compiler\"]", graceSync.Detail("Items")?.GetRawText());
            Assert.Equal("company US Navy", graceSync.Detail("Row")?.GetString());
            var adaPurchase = emulator.Events.Single(e => e.Email == "ada@example.com" && e.Type == "$purchase");
            Assert.Equal("[\"Ada's book\"]", adaPurchase.Detail("cart")?.GetProperty("items").GetRawText());
            Assert.Equal("order-1", adaPurchase.Detail("unique")?.GetProperty("key").GetString());
            Assert.Equal(4, meters.Sent);
        }
    }

    internal enum ShipEvent { OrderShipped }

    internal static partial class MarkerLog
    {
#pragma warning disable SYSLIB1015
        [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Order {orderId} shipped")]
        public static partial void Shipped(this ILogger logger, ShipEvent analyticsEvent, string orderId);

        [LoggerMessage(EventId = 21, Level = LogLevel.Information, Message = "Plan {plan}")]
        public static partial void SignupCompletedOrNot(this ILogger logger, string? analyticsEvent, string plan);
#pragma warning restore SYSLIB1015
    }
}
