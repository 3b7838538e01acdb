using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;

namespace BentoSinks.Testing
{
    /// <summary>
    /// Delivery defects neither front end may have, written once: each front end's <c>LargeEventsAndLimitsTests</c> / <c>LargeEventsFlushAndExporterOptionsTests</c> has a
    /// test of the same name that plays the scenario on its own <see cref="IFrontEndUnderTest"/>, which
    /// <c>start</c> builds with the options the scenario sets.
    /// </summary>
    internal static class DeliveryScenarios
    {
        /// <summary>How many large events the large-event scenarios emit.</summary>
        public const int LargeEventCount = 300;

        /// <summary>What makes an event large: with <see cref="LargeEvents"/>, one or two fill a request.</summary>
        public static readonly string LargeBlob = new string('x', 400);

        /// <summary>Requests full by bytes after one or two large events, and a budget spent between requests.</summary>
        public static void LargeEvents(BentoOptions o)
        {
            o.MaxRequestBytes = 1024;
            o.MaxRequestsPerMinute = 600; // one request per 100 ms: the budget is spent between requests
            o.Period = TimeSpan.FromMilliseconds(50);
        }

        /// <summary>Emits <see cref="LargeEventCount"/> large events and lets the budget bite a few times: delivery under way, not urgent.</summary>
        public static async Task EmitLargeEventsUnderWayAsync(IFrontEndUnderTest rig)
        {
            rig.Emit(0, LargeEventCount, "large", LargeBlob);
            await rig.PumpAsync(() => rig.Emulator.RequestCount >= 5, TimeSpan.FromMilliseconds(100), maxSteps: 100);
        }

        public static async Task Large_events_filling_requests_by_bytes_are_all_delivered_and_none_is_silently_lost(Func<Action<BentoOptions>, Task<IFrontEndUnderTest>> start)
        {
            await using var rig = await start(LargeEvents);
            const int emitted = LargeEventCount;
            rig.Emit(0, emitted, "large", LargeBlob);

            // 600 requests a minute and one or two events a request: at most ~30 s on the fake clock.
            // The pipeline's own counts (requests answered, events settled) must keep moving until every event is settled.
            // A slow machine moves them late; a lost event leaves them still for good: "stalled" takes 50 pump steps
            // and 15 s of real time without a change, so a busy machine is never mistaken for a loss.
            var progress = new Progress(() => rig.Metrics.Requests * 1_000_000 + rig.Metrics.Sent + rig.Metrics.DroppedTotal);
            var settled = await rig.PumpAsync(() => rig.Metrics.Sent + rig.Metrics.DroppedTotal >= emitted || progress.StalledFor(50), TimeSpan.FromMilliseconds(100), maxSteps: 100_000);
            Assert.True(settled && rig.Metrics.Sent + rig.Metrics.DroppedTotal >= emitted,
                $"not every event was sent or counted as dropped, and the pipeline's counts stood still for {progress.Still.TotalSeconds:0} s of real time: events were lost without a trace. {rig.Describe()}");
            Assert.True(await rig.ShutDownAsync(TimeSpan.FromSeconds(1)), $"shutting the front end down (its flush) did not finish. {rig.Describe()}");

            Assert.True(emitted == rig.Emulator.EventCount, $"expected {emitted} events at the emulator. {rig.Describe()}");
            Assert.True(emitted == rig.ReceivedNumbers().Distinct().Count(), $"expected {emitted} distinct events. {rig.Describe()}");
            Assert.True(rig.Metrics.DroppedTotal == 0, $"expected no drop. {rig.Describe()}");
            Assert.True(emitted == rig.Metrics.Sent, $"expected bento.events.sent = {emitted}. {rig.Describe()}");
        }

        /// <summary>The options that are time spans, each of which a timer waits for: a theory's data.</summary>
        public static IEnumerable<object[]> TimeSpanOptions() => new[]
        {
            new object[] { nameof(BentoOptions.Period) },
            new object[] { nameof(BentoOptions.RetryTimeLimit) },
            new object[] { nameof(BentoOptions.RequestTimeout) },
            new object[] { nameof(BentoOptions.ShutdownTimeout) },
        };

        /// <summary>
        /// <paramref name="option"/> set to 60 days (timers wait at most ~49.7 days) is refused when <paramref name="build"/>
        /// builds the front end (the logger, the provider): an <see cref="ArgumentException"/> naming the option.
        /// </summary>
        public static void A_TimeSpan_option_beyond_what_timers_support_is_refused(string option, Func<Action<BentoOptions>, IDisposable?> build)
        {
            var sixtyDays = TimeSpan.FromDays(60);
            IDisposable? built = null;
            var ex = Record.Exception(() => built = build(o =>
            {
                o.SiteUuid = "s"; o.PublishableKey = "p"; o.SecretKey = "k";
                o.Endpoint = new Uri("http://127.0.0.1:9/api/v1");
                o.ShutdownTimeout = TimeSpan.Zero;
                switch (option)
                {
                    case nameof(BentoOptions.Period): o.Period = sixtyDays; break;
                    case nameof(BentoOptions.RetryTimeLimit): o.RetryTimeLimit = sixtyDays; break;
                    case nameof(BentoOptions.RequestTimeout): o.RequestTimeout = sixtyDays; break;
                    case nameof(BentoOptions.ShutdownTimeout): o.ShutdownTimeout = sixtyDays; break;
                }
            }));
            try { built?.Dispose(); } catch { /* the configuration was accepted: the assertion below reports it */ }
            Assert.True(ex is ArgumentException, $"{option} = 60 days was accepted (expected an ArgumentException naming {option}); got {ex?.GetType().Name ?? "no exception"}");
            Assert.Equal(option, ((ArgumentException)ex!).ParamName);
        }

        public static async Task An_absurd_Retry_After_does_not_stop_delivery_of_later_events(Func<Action<BentoOptions>, Task<IFrontEndUnderTest>> start)
        {
            await using var rig = await start(o =>
            {
                o.Period = TimeSpan.FromSeconds(2);
                o.RequestTimeout = TimeSpan.FromDays(1); // the clock moves 6 hours a step below: no request may time out because of that
            });
            rig.Emulator.EnqueueFaults(Fault.WithStatus(429, "5000000")); // 5,000,000 s ≈ 58 days, longer than a timer can wait
            rig.Emit(0, 10);
            Assert.True(await rig.PumpAsync(() => rig.Emulator.RequestCount >= 1, TimeSpan.FromSeconds(1), maxSteps: 100), $"the first batch was never sent. {rig.Describe()}");
            Assert.True(await rig.PumpAsync(() => rig.Metrics.Requests >= 1, TimeSpan.FromSeconds(1), maxSteps: 100), $"the client never took in the 429. {rig.Describe()}");

            rig.Emit(100, 10);
            // Whether the fix caps Retry-After or honours it (~58 days), the later events arrive within 62 days of fake
            // time. Stop early once they can no longer arrive (refused as queue_full, or dropped as shutdown by a dead loop).
            bool LaterDelivered() => rig.ReceivedNumbers().Count(n => n >= 100) >= 10;
            bool Dead() => rig.Metrics.DroppedFor("queue_full") > 0 || rig.Metrics.DroppedFor("shutdown") > 0;
            await rig.PumpAsync(() => (LaterDelivered() && rig.Metrics.Sent + rig.Metrics.DroppedTotal >= 20) || Dead(), TimeSpan.FromHours(6), maxSteps: 62 * 4);

            Assert.True(!Dead(), $"the delivery loop died: events were refused (queue_full) or dropped as shutdown before any shutdown. {rig.Describe()}");
            Assert.True(LaterDelivered(), $"the 10 events emitted after the 429 were not delivered. {rig.Describe()}");
            Assert.True(rig.Metrics.Sent + rig.Metrics.DroppedTotal == 20, $"accounting: sent + dropped must equal the 20 events emitted. {rig.Describe()}");
        }

        public static async Task A_custom_message_handler_that_throws_once_does_not_stop_delivery_of_later_events(Func<Action<BentoOptions>, Task<IFrontEndUnderTest>> start)
        {
            using var handler = new ThrowOnceHandler();
            await using var rig = await start(o =>
            {
                o.Period = TimeSpan.FromSeconds(2);
                o.MessageHandler = handler;
            });
            rig.Emit(0, 10);
            Assert.True(await rig.PumpAsync(() => handler.Calls >= 1, TimeSpan.FromSeconds(1), maxSteps: 100), $"the handler was never called. {rig.Describe()}");
            Assert.True(await rig.PumpAsync(() => rig.Metrics.Requests >= 1, TimeSpan.FromSeconds(1), maxSteps: 100), $"the client never took in the handler's failure. {rig.Describe()}");

            rig.Emit(100, 10);
            bool LaterDelivered() => rig.ReceivedNumbers().Count(n => n >= 100) >= 10;
            bool Dead() => rig.Metrics.DroppedFor("queue_full") > 0 || rig.Metrics.DroppedFor("shutdown") > 0;
            await rig.PumpAsync(() => (LaterDelivered() && rig.Metrics.Sent + rig.Metrics.DroppedTotal >= 20) || Dead(), TimeSpan.FromSeconds(1), maxSteps: 1500);

            Assert.True(!Dead(), $"the delivery loop died: events were refused (queue_full) or dropped as shutdown before any shutdown. {rig.Describe()}; handler calls {handler.Calls}");
            Assert.True(LaterDelivered(), $"the 10 events emitted after the handler threw were not delivered. {rig.Describe()}; handler calls {handler.Calls}");
            Assert.True(rig.Metrics.Sent + rig.Metrics.DroppedTotal == 20, $"accounting: the first batch must be sent or counted as dropped. {rig.Describe()}; handler calls {handler.Calls}");
        }


        public static async Task A_408_is_retried_and_the_batch_delivered(Func<Action<BentoOptions>, Task<IFrontEndUnderTest>> start)
        {
            await using var rig = await start(o => o.Period = TimeSpan.FromSeconds(2));
            rig.Emulator.EnqueueFaults(Fault.WithStatus(408));
            rig.Emit(0, 10);
            await rig.PumpAsync(() => rig.Metrics.Sent + rig.Metrics.DroppedTotal >= 10, TimeSpan.FromSeconds(1), maxSteps: 600);

            Assert.True(rig.Emulator.Requests.Count >= 1 && rig.Emulator.Requests[0].Status == 408, $"the 408 was not injected. {rig.Describe()}");
            Assert.True(rig.Metrics.DroppedTotal == 0, $"a 408 must be retried, not dropped. {rig.Describe()}");
            Assert.True(rig.Emulator.EventCount == 10 && rig.ReceivedNumbers().Distinct().Count() == 10, $"expected the 10 events delivered after the 408. {rig.Describe()}");
            Assert.True(rig.Metrics.Sent == 10, $"expected bento.events.sent = 10. {rig.Describe()}");
        }
    }
}
