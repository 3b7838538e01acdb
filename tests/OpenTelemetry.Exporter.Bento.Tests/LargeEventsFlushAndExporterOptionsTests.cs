using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>
    /// Regression tests for delivery defects, through the public API only (<c>AddBentoExporter(o => …)</c> on a tracer
    /// provider or in a host, <c>ForceFlush</c>, the <c>BentoSinks.Core</c> meter, the emulator over real HTTP).
    /// Each asserts the correct behaviour.
    /// </summary>
    [Collection("Exporter")]
    public class LargeEventsFlushAndExporterOptionsTests
    {
        private static async Task<IFrontEndUnderTest> StartAsync(Action<BentoOptions> configure) => await MeteredTracerUnderTest.StartAsync(configure);

        /// <summary>One analytics event on an activity of <paramref name="sourceName"/> (<c>from_traces</c>) and one log record (<c>from_logs</c>).</summary>
        private static void EmitFromTracesAndLogs(IHost host, string sourceName)
        {
            using var source = new ActivitySource(sourceName);
            using (var a = source.StartActivity("request")!)
            {
                a.SetTag("user.email", "ada@example.com");
                a.AddEvent(new ActivityEvent("from_traces", default, new ActivityTagsCollection { ["analytics.event"] = true }));
            }
            host.Services.GetRequiredService<ILogger<LargeEventsFlushAndExporterOptionsTests>>().LogInformation("{AnalyticsEvent} {Email}", "from_logs", "ada@example.com");
        }

        // ---- 1. Large events: requests full by bytes while the budget is spent must lose nothing ----

        [Fact]
        public Task Large_events_filling_requests_by_bytes_are_all_delivered_and_none_is_silently_lost() => DeliveryScenarios.Large_events_filling_requests_by_bytes_are_all_delivered_and_none_is_silently_lost(StartAsync);

        [Fact]
        public async Task ForceFlush_of_large_events_returns_true_and_every_event_is_delivered()
        {
            await using var rig = await MeteredTracerUnderTest.StartAsync(DeliveryScenarios.LargeEvents);
            const int emitted = DeliveryScenarios.LargeEventCount;
            // Delivery under way (the budget has bitten a few times), then flush.
            await DeliveryScenarios.EmitLargeEventsUnderWayAsync(rig);

            var sw = Stopwatch.StartNew();
            var flush = Task.Run(() => rig.Provider.ForceFlush(5000));
            await rig.PumpAsync(() => flush.IsCompleted, TimeSpan.FromMilliseconds(100), maxSteps: 300);
            Assert.True(await Eventually.Completes(flush, TimeSpan.FromSeconds(8)), $"ForceFlush(5000) did not return. {rig.Describe()}");
            Assert.True(await flush, $"ForceFlush(5000) returned false after {sw.ElapsedMilliseconds} ms: the flush waited for events that will never be settled. {rig.Describe()}");

            Assert.True(emitted == rig.Metrics.Sent + rig.Metrics.DroppedTotal, $"accounting: sent + dropped must equal the {emitted} events emitted. {rig.Describe()}");
            Assert.True(emitted == rig.Emulator.EventCount, $"expected all {emitted} events at the emulator right after ForceFlush. {rig.Describe()}");
            Assert.True(emitted == rig.ReceivedNumbers().Distinct().Count(), $"expected {emitted} distinct events. {rig.Describe()}");
        }

        // ---- 2. Nothing the server or the handler does may kill the delivery loop; absurd options are refused ----

        [Fact]
        public Task An_absurd_Retry_After_does_not_stop_delivery_of_later_events() => DeliveryScenarios.An_absurd_Retry_After_does_not_stop_delivery_of_later_events(StartAsync);

        [Fact]
        public Task A_custom_message_handler_that_throws_once_does_not_stop_delivery_of_later_events() => DeliveryScenarios.A_custom_message_handler_that_throws_once_does_not_stop_delivery_of_later_events(StartAsync);

        public static IEnumerable<object[]> TimeSpanOptions() => DeliveryScenarios.TimeSpanOptions();

        [Theory]
        [MemberData(nameof(TimeSpanOptions))]
        public void A_TimeSpan_option_beyond_what_timers_support_is_refused_when_the_provider_is_built(string option)
            => DeliveryScenarios.A_TimeSpan_option_beyond_what_timers_support_is_refused(option, configure => Sdk.CreateTracerProviderBuilder().AddBentoExporter(configure).Build());

        // ---- 3. 422 (a business rule) isolates the refused event like 400 ----

        [Fact]
        public async Task A_422_for_one_event_in_a_batch_of_1000_drops_that_event_alone()
        {
            await using var rig = await MeteredTracerUnderTest.StartAsync(o => o.BatchSizeLimit = 1000, fakeTime: false); // Period 1 h: only the flush sends
            rig.Emulator.PoisonStatus = 422;
            rig.Emulator.Poison = e => e.GetProperty("details").GetProperty("n").GetInt32() == 321;
            rig.Emit(0, 1000);
            Assert.True(rig.Provider.ForceFlush(10_000), $"ForceFlush returned false. {rig.Describe()}");

            Assert.True(rig.Emulator.EventCount == 999, $"expected 999 events delivered. {rig.Describe()}");
            Assert.True(rig.ReceivedNumbers().Distinct().Count() == 999 && !rig.ReceivedNumbers().Contains(321), $"expected every event but n=321. {rig.Describe()}");
            Assert.True(rig.Metrics.Sent == 999, $"expected bento.events.sent = 999. {rig.Describe()}");
            Assert.True(rig.Metrics.DroppedFor("rejected") == 1 && rig.Metrics.DroppedTotal == 1, $"expected exactly 1 event dropped as rejected. {rig.Describe()}");
        }

        // ---- 4. ForceFlush returns true only once what was queued before it has been sent ----

        [Fact]
        public async Task ForceFlush_returns_only_after_valid_events_queued_before_an_invalid_one_are_delivered()
        {
            await using var rig = await MeteredTracerUnderTest.StartAsync(_ => { }, fakeTime: false); // Period 1 h: only the flush sends
            rig.Emulator.EnqueueFaults(Fault.Delayed(TimeSpan.FromMilliseconds(300))); // a slow answer makes an early return visible
            rig.Emit(0, 5);
            rig.EmitInvalidPurchases(5, 1); // dropped as invalid on the reader loop, after the valid ones, in the same batch

            var sw = Stopwatch.StartNew();
            var flushed = rig.Provider.ForceFlush(5000);
            var atReturn = rig.Emulator.EventCount;
            Assert.True(flushed, $"ForceFlush(5000) returned false after {sw.ElapsedMilliseconds} ms. {rig.Describe()}");
            Assert.True(atReturn == 5, $"ForceFlush returned true after {sw.ElapsedMilliseconds} ms with {atReturn} of the 5 valid events at the emulator. {rig.Describe()}");
            Assert.True(rig.Metrics.DroppedFor("invalid") == 1, $"expected the invalid purchase dropped as invalid. {rig.Describe()}");
        }

        [Fact]
        public async Task ForceFlush_is_not_released_early_by_invalid_events_queued_while_it_waits()
        {
            await using var rig = await MeteredTracerUnderTest.StartAsync(o => o.BatchSizeLimit = 5, fakeTime: false); // Period 1 h: a full batch or the flush sends
            var slow = TimeSpan.FromMilliseconds(800);
            rig.Emulator.EnqueueFaults(Fault.Delayed(slow), Fault.Delayed(slow));

            rig.Emit(0, 5); // a full batch: sent at once, answered slowly
            await rig.Emulator.WaitForRequestsStartedAsync(1, TimeSpan.FromSeconds(5));
            Assert.True(rig.Emulator.RequestsStarted >= 1, $"the first full batch was not sent. {rig.Describe()}");
            rig.Emit(5, 3); // queued behind the request on the wire: the flush below must wait for these three

            var started = new ManualResetEventSlim();
            var flushed = false;
            var atReturn = -1;
            long tookMs = -1;
            var flusher = new Thread(() =>
            {
                started.Set();
                var sw = Stopwatch.StartNew();
                flushed = rig.Provider.ForceFlush(10_000);
                atReturn = rig.Emulator.EventCount;
                tookMs = sw.ElapsedMilliseconds;
            }) { IsBackground = true };
            flusher.Start();
            started.Wait();
            // The flush has taken its mark and waits (its thread blocks on it); the first request is still being answered.
            await Eventually.Until(() => (flusher.ThreadState & System.Threading.ThreadState.WaitSleepJoin) != 0 || !flusher.IsAlive);
            rig.EmitInvalidPurchases(100, 10); // queued after the flush call, dropped as invalid as soon as they are read

            Assert.True(flusher.Join(TimeSpan.FromSeconds(15)), $"ForceFlush did not return. {rig.Describe()}");
            Assert.True(flushed, $"ForceFlush returned false after {tookMs} ms. {rig.Describe()}");
            Assert.True(atReturn == 8, $"ForceFlush returned true after {tookMs} ms with {atReturn} of the 8 events queued before it at the emulator " +
                                       $"(invalid events queued after the call released it). {rig.Describe()}");
        }

        // ---- 5. 408 Request Timeout is transient: retried, not dropped ----

        [Fact]
        public Task A_408_is_retried_and_the_batch_delivered() => DeliveryScenarios.A_408_is_retried_and_the_batch_delivered(StartAsync);

        // ---- 6. Unnamed AddBentoExporter on tracing and on logging: each keeps its own options ----

        [Fact]
        public async Task Unnamed_trace_and_log_exporters_in_one_host_each_send_to_their_own_endpoint()
        {
            await using var traces = await BentoEmulator.StartAsync();
            await using var logs = await BentoEmulator.StartAsync();
            var sourceName = "bento.tests." + Guid.NewGuid();
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.Services.AddOpenTelemetry()
                .WithTracing(t => t.AddSource(sourceName).AddBentoExporter(o => EmulatorOptions.Configure(o, traces)))
                .WithLogging(l => l.AddBentoExporter(o => EmulatorOptions.Configure(o, logs)));
            using (var host = builder.Build())
            {
                await host.StartAsync();
                EmitFromTracesAndLogs(host, sourceName);
                await host.StopAsync();
            }
            string Seen(BentoEmulator e) => "[" + string.Join(", ", e.Events.Select(x => x.Type)) + "] with user agents [" +
                                            string.Join(", ", e.Requests.Select(r => r.Headers.TryGetValue("user-agent", out var ua) ? ua : "?").Distinct()) + "]";
            var detail = $"trace emulator got {Seen(traces)}; log emulator got {Seen(logs)}";
            Assert.True(traces.Events.Select(e => e.Type).SequenceEqual(new[] { "from_traces" }), $"the trace exporter must use the options of its own AddBentoExporter call: {detail}");
            Assert.True(logs.Events.Select(e => e.Type).SequenceEqual(new[] { "from_logs" }), $"the log exporter must use the options of its own AddBentoExporter call: {detail}");
        }

        [Fact]
        public async Task Unnamed_trace_and_log_exporters_in_one_host_each_keep_their_own_period()
        {
            var time = FakeClock.New();
            await using var emulator = await BentoEmulator.StartAsync(new BentoEmulatorOptions { TimeProvider = time });
            var sourceName = "bento.tests." + Guid.NewGuid();
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.Services.AddOpenTelemetry()
                .WithTracing(t => t.AddSource(sourceName).AddBentoExporter(o => { EmulatorOptions.Configure(o, emulator); o.TimeProvider = time; o.Period = TimeSpan.FromSeconds(5); }))
                .WithLogging(l => l.AddBentoExporter(o => { EmulatorOptions.Configure(o, emulator); o.TimeProvider = time; o.Period = TimeSpan.FromHours(1); }));
            var host = builder.Build();
            try
            {
                await host.StartAsync();
                EmitFromTracesAndLogs(host, sourceName);

                // Traces: Period 5 s, so the activity event leaves within 5 s (fake). Logs: Period 1 h, so the record stays queued.
                var types = new Func<string[]>(() => emulator.Events.Select(e => e.Type).ToArray());
                await emulator.AdvanceClockUntilAsync(() => types().Contains("from_traces"), () => time.Advance(TimeSpan.FromSeconds(1)), maxSteps: 30);
                var detail = $"after {(time.GetUtcNow() - FakeClock.Start).TotalSeconds:0} s (fake) the emulator got [{string.Join(", ", types())}]";
                Assert.True(types().Contains("from_traces"), $"the trace exporter (Period 5 s) did not send its event: it runs with another call's options. {detail}");
                Assert.True(!types().Contains("from_logs"), $"the log exporter (Period 1 h) sent its record early: it runs with another call's options. {detail}");
            }
            finally
            {
                var stop = Task.Run(async () => { await host.StopAsync(); host.Dispose(); });
                await emulator.AdvanceClockUntilAsync(() => stop.IsCompleted, () => time.Advance(TimeSpan.FromSeconds(5)), maxSteps: 200);
            }
        }
    }
}
