using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using BentoSinks;
using Serilog.Core;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary>
    /// Regression tests for delivery defects, through the public API only (<c>WriteTo.Bento(o => …)</c>, the
    /// <c>BentoSinks.Core</c> meter, the emulator over real HTTP). Each asserts the correct behaviour.
    /// </summary>
    [Collection("SelfLog")]
    public class LargeEventsAndLimitsTests
    {
        private static async Task<IFrontEndUnderTest> StartAsync(Action<BentoOptions> configure) => await MeteredSerilogUnderTest.StartAsync(configure);

        // ---- 1. Large events: requests full by bytes while the budget is spent must lose nothing ----

        [Fact]
        public Task Large_events_filling_requests_by_bytes_are_all_delivered_and_none_is_silently_lost() => DeliveryScenarios.Large_events_filling_requests_by_bytes_are_all_delivered_and_none_is_silently_lost(StartAsync);

        [Fact]
        public async Task Large_events_flushed_by_disposing_the_logger_mid_way_are_all_delivered_and_accounted_for()
        {
            await using var rig = await MeteredSerilogUnderTest.StartAsync(DeliveryScenarios.LargeEvents);
            const int emitted = DeliveryScenarios.LargeEventCount;
            // Delivery under way (the budget has bitten a few times), then flush by disposing the logger.
            await DeliveryScenarios.EmitLargeEventsUnderWayAsync(rig);

            var disposed = await rig.DisposeLoggerAsync(TimeSpan.FromMilliseconds(100), maxSteps: 300);
            Assert.True(disposed, $"disposing the logger (its flush) hung. {rig.Describe()}");

            Assert.True(emitted == rig.Metrics.Sent + rig.Metrics.DroppedTotal, $"accounting: sent + dropped must equal the {emitted} events emitted. {rig.Describe()}");
            Assert.True(emitted == rig.Emulator.EventCount, $"expected all {emitted} events at the emulator. {rig.Describe()}");
            Assert.True(emitted == rig.ReceivedNumbers().Distinct().Count(), $"expected {emitted} distinct events. {rig.Describe()}");
            Assert.True(rig.Metrics.DroppedTotal == 0, $"expected no drop. {rig.Describe()}");
        }

        // ---- 2. Nothing the server or the handler does may kill the delivery loop; absurd options are refused ----

        [Fact]
        public Task An_absurd_Retry_After_does_not_stop_delivery_of_later_events() => DeliveryScenarios.An_absurd_Retry_After_does_not_stop_delivery_of_later_events(StartAsync);

        [Fact]
        public Task A_custom_message_handler_that_throws_once_does_not_stop_delivery_of_later_events() => DeliveryScenarios.A_custom_message_handler_that_throws_once_does_not_stop_delivery_of_later_events(StartAsync);

        public static IEnumerable<object[]> TimeSpanOptions() => DeliveryScenarios.TimeSpanOptions();

        [Theory]
        [MemberData(nameof(TimeSpanOptions))]
        public void A_TimeSpan_option_beyond_what_timers_support_is_refused_when_the_logger_is_configured(string option)
            => DeliveryScenarios.A_TimeSpan_option_beyond_what_timers_support_is_refused(option, configure => new LoggerConfiguration().WriteTo.Bento(configure).CreateLogger());

        [Fact]
        public void A_period_beyond_what_timers_support_is_refused_by_the_argument_overload()
        {
            Logger? logger = null;
            var ex = Record.Exception(() => logger = new LoggerConfiguration()
                .WriteTo.Bento("s", "p", "k", endpoint: "http://127.0.0.1:9/api/v1", period: TimeSpan.FromDays(60)).CreateLogger());
            try { logger?.Dispose(); } catch { }
            Assert.True(ex is ArgumentException, $"period = 60 days was accepted; got {ex?.GetType().Name ?? "no exception"}");
            Assert.Equal("period", ((ArgumentException)ex!).ParamName);
        }

        // ---- 3. 422 (a business rule) isolates the refused event like 400 ----

        [Fact]
        public async Task A_422_for_one_event_in_a_batch_of_1000_drops_that_event_alone()
        {
            await using var rig = await MeteredSerilogUnderTest.StartAsync(o => o.BatchSizeLimit = 1000, fakeTime: false); // Period 1 h: only the flush sends
            rig.Emulator.PoisonStatus = 422;
            rig.Emulator.Poison = e => e.GetProperty("details").GetProperty("n").GetInt32() == 321;
            rig.Emit(0, 1000);
            Assert.True(await rig.DisposeLoggerAsync(TimeSpan.FromSeconds(1), maxSteps: 5000), $"disposing the logger did not finish. {rig.Describe()}");

            Assert.True(rig.Emulator.EventCount == 999, $"expected 999 events delivered. {rig.Describe()}");
            Assert.True(rig.ReceivedNumbers().Distinct().Count() == 999 && !rig.ReceivedNumbers().Contains(321), $"expected every event but n=321. {rig.Describe()}");
            Assert.True(rig.Metrics.Sent == 999, $"expected bento.events.sent = 999. {rig.Describe()}");
            Assert.True(rig.Metrics.DroppedFor("rejected") == 1 && rig.Metrics.DroppedTotal == 1, $"expected exactly 1 event dropped as rejected. {rig.Describe()}");
        }

        // ---- 5. 408 Request Timeout is transient: retried, not dropped ----

        [Fact]
        public Task A_408_is_retried_and_the_batch_delivered() => DeliveryScenarios.A_408_is_retried_and_the_batch_delivered(StartAsync);
    }
}
