using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using BentoSinks.Delivery;
using BentoSinks.Diagnostics;

namespace BentoSinks.Core.Tests
{
    /// <summary>
    /// Failing tests from an adversarial review of the delivery pipeline rewrite. Each one names the promise it breaks.
    /// They are expected to FAIL until the corresponding finding is fixed.
    /// </summary>
    public class HostileHandlerAndRaceTests
    {
        private static BentoOptions Options(HttpMessageHandler handler, Action<BentoOptions>? configure = null)
        {
            var options = new BentoOptions
            {
                SiteUuid = "site-uuid-review",
                PublishableKey = "publishable-key-review",
                SecretKey = "secret-key-review-0123456789",
                Endpoint = new Uri("http://127.0.0.1:1/api/v1"),
                MessageHandler = handler,
                Period = TimeSpan.FromMilliseconds(10),
                MaxRequestsPerMinute = 0,
                RequestTimeout = TimeSpan.FromMilliseconds(300),
                ShutdownTimeout = TimeSpan.FromMilliseconds(300),
            };
            configure?.Invoke(options);
            return options;
        }

        private static BentoPipeline<TestEvent> Pipeline(BentoOptions options, string name, ListDiagnostics? diagnostics = null)
        {
            var settings = options.Validate();
            settings.WarningInterval = TimeSpan.Zero;
            return new BentoPipeline<TestEvent>(settings, new TestFormatter(), diagnostics ?? new ListDiagnostics(), name);
        }

        /// <summary>An event offered to a disposed pipeline only to follow the others through the failure listener.</summary>
        private static TestEvent Sentinel() => new TestEvent { Type = "sentinel" };

        private static bool IsSentinel(TestEvent e) => e.Type == "sentinel";

        private static TestEvent Event(int i) => new TestEvent { Email = $"user{i}@example.com", Details = new Dictionary<string, object?> { ["id"] = i } };

        /// <summary>A handler that never answers and ignores its cancellation token (a third-party DelegatingHandler, a proxy library).</summary>
        private sealed class DeafHandler : HttpMessageHandler
        {
            public int Calls;

            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref Calls);
                return new TaskCompletionSource<HttpResponseMessage>().Task;
            }
        }

        /// <summary>A pipeline whose one event's request went to a <see cref="DeafHandler"/>: it will never be answered.</summary>
        private static async Task<BentoPipeline<TestEvent>> StuckInADeafHandler(string name)
        {
            var handler = new DeafHandler();
            var pipeline = Pipeline(Options(handler), name);
            pipeline.TryEnqueue(Event(1));
            await PipelineUnderTest.Until(() => handler.Calls == 1);
            return pipeline;
        }

        /// <summary>Answers 200 with Bento's result and counts the events it received.</summary>
        private sealed class CountingBento : HttpMessageHandler
        {
            public int Events;
            public int Calls;

            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref Calls);
                var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
                using var doc = JsonDocument.Parse(body);
                var n = doc.RootElement.GetProperty("events").GetArrayLength();
                Interlocked.Add(ref Events, n);
                return new HttpResponseMessage(HttpStatusCode.OK)
                {
                    Content = new StringContent($"{{\"results\":{n},\"failed\":0}}", Encoding.UTF8, "application/json"),
                };
            }
        }

        /// <summary>Holds every request until released (honours its token).</summary>
        private sealed class GatedBento : HttpMessageHandler
        {
            public readonly TaskCompletionSource<bool> Gate = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            public int Calls;

            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref Calls);
                await Gate.Task.WaitAsync(cancellationToken);
                return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{\"results\":1,\"failed\":0}", Encoding.UTF8, "application/json") };
            }
        }

        /// <summary>An app's MeterListener with a bug: it throws on one instrument, for the pipeline named <paramref name="pipeline"/> only.</summary>
        private static MeterListener ThrowingListener(string pipeline, string instrument, Func<bool> shouldThrow)
        {
            var listener = new MeterListener
            {
                InstrumentPublished = (i, l) =>
                {
                    if (i.Meter.Name == BentoMetrics.MeterName && i.Name == instrument) l.EnableMeasurementEvents(i);
                },
            };
            listener.SetMeasurementEventCallback<long>((i, value, tags, state) =>
            {
                foreach (var tag in tags)
                    if (tag.Key == "bento.pipeline" && (tag.Value as string) == pipeline && shouldThrow())
                        throw new InvalidOperationException("a buggy app MeterListener");
            });
            listener.Start();
            return listener;
        }

        // ---------------------------------------------------------------------------------------------------------
        // F1: RequestTimeout is only a token: a handler that ignores it stalls the loop for good, and disposal, which
        // cancels and then awaits the loop without bound, never returns ("delivers within ShutdownTimeout, then cancels").
        // ---------------------------------------------------------------------------------------------------------

        [Fact]
        public async Task request_timeout_is_enforced_against_a_handler_that_ignores_cancellation()
        {
            var pipeline = await StuckInADeafHandler("review-deaf-timeout");
            // RequestTimeout is 300 ms: within 3 s the request must have been given up on (answered = timed out) and retried.
            await PipelineUnderTest.Until(() => pipeline.Counters.Answered > 0, timeoutMs: 3000); // fails when the loop is stuck in the handler
        }

        [Fact]
        public async Task dispose_returns_even_when_the_handler_ignores_cancellation()
        {
            var pipeline = await StuckInADeafHandler("review-deaf-dispose");
            var dispose = Task.Run(() => pipeline.Dispose());
            Assert.True(await Eventually.Completes(dispose, TimeSpan.FromSeconds(5)), "Dispose() did not return within 5 s with ShutdownTimeout = 300 ms; " + pipeline.Counters);
        }

        // ---------------------------------------------------------------------------------------------------------
        // F2: an exception after the last range of a batch settled (here: a throwing MeterListener inside
        // _ledger.Sent) leaves _delivery.InProgress false but the batch not cleared; the loop's catch treats it as
        // "nothing was in progress", and the next turn sends the same events again: duplicates at Bento, Sent counted
        // twice, offered != sent + dropped + in flight.
        // ---------------------------------------------------------------------------------------------------------

        [Fact]
        public async Task an_exception_after_a_batch_settled_does_not_resend_it()
        {
            const string name = "review-meter-dup";
            var thrown = 0;
            using var listener = ThrowingListener(name, "bento.events.sent", () => Interlocked.Exchange(ref thrown, 1) == 0);
            var bento = new CountingBento();
            var pipeline = Pipeline(Options(bento, o => o.ShutdownTimeout = TimeSpan.FromSeconds(10)), name);
            for (var i = 0; i < 5; i++) pipeline.TryEnqueue(Event(i));
            await pipeline.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
            await pipeline.DisposeAsync();
            Assert.Equal(5, pipeline.Counters.Offered);
            Assert.True(bento.Events == 5, $"Bento received {bento.Events} events for 5 offered (duplicates); {pipeline.Counters}");
            Assert.True(pipeline.Counters.Sent == 5, $"sent counted {pipeline.Counters.Sent} for 5 offered; {pipeline.Counters}");
        }

        // ---------------------------------------------------------------------------------------------------------
        // F3: TryEnqueue "never throws", but the ledger calls Counter.Add on the caller's thread and a MeterListener's
        // exception propagates out of it.
        // ---------------------------------------------------------------------------------------------------------

        [Fact]
        public async Task TryEnqueue_never_throws_even_when_a_meter_listener_does()
        {
            const string name = "review-meter-throw";
            using var listener = ThrowingListener(name, "bento.events.dropped", () => true);
            var bento = new GatedBento();
            var pipeline = Pipeline(Options(bento, o => { o.QueueLimit = 1; o.RequestTimeout = TimeSpan.FromSeconds(30); }), name);
            try
            {
                pipeline.TryEnqueue(Event(1));
                await PipelineUnderTest.Until(() => bento.Calls == 1); // the loop is busy with a request
                pipeline.TryEnqueue(Event(2));               // fills the queue
                var ex = Record.Exception(() => pipeline.TryEnqueue(Event(3))); // queue full: dropped and counted
                Assert.Null(ex);
            }
            finally
            {
                bento.Gate.TrySetResult(true);
                await pipeline.DisposeAsync();
            }
        }

        // ---------------------------------------------------------------------------------------------------------
        // F4: diagnostics must "never hold a key, the Authorization value, an email": the sanitizer blanks the two keys
        // but not the Authorization value (base64 of "publishable:secret") that a gateway may echo, and the transport
        // exception text goes into the diagnostics unsanitized.
        // ---------------------------------------------------------------------------------------------------------

        [Fact]
        public void error_bodies_never_quote_the_authorization_value()
        {
            const string publishable = "publishable-key-review", secret = "secret-key-review-0123456789";
            var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes(publishable + ":" + secret));
            var body = Encoding.UTF8.GetBytes("{\"error\":\"Invalid credentials: Authorization Basic " + basic + " was refused\"}");
            using var response = new HttpResponseMessage((HttpStatusCode)401);
            var outcome = BentoHttpSender.Classify(401, response.Headers, "application/json", body, DateTimeOffset.UtcNow, BentoHttpSender.SecretsOf(publishable, secret));
            Assert.DoesNotContain(basic, outcome.Detail ?? "");
        }

        [Fact]
        public async Task transport_exception_text_is_sanitized_in_diagnostics()
        {
            var diagnostics = new ListDiagnostics();
            var handler = new ThrowingHandler(new HttpRequestException("upstream proxy refused the request for ada@example.com"));
            var pipeline = Pipeline(Options(handler, o => o.RetryTimeLimit = TimeSpan.Zero), "review-leak", diagnostics);
            pipeline.TryEnqueue(Event(1));
            await PipelineUnderTest.Until(() => pipeline.Counters.InFlight == 0);
            await pipeline.DisposeAsync();
            Assert.DoesNotContain("@", diagnostics.All);
        }

        private sealed class ThrowingHandler : HttpMessageHandler
        {
            private readonly Exception _exception;
            public ThrowingHandler(Exception exception) => _exception = exception;
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => throw _exception;
        }

        // Probe (passes today): producers racing disposal keep offered = sent + dropped and sent <= what Bento received <= sent + shutdown.
        [Fact]
        public async Task probe_concurrent_producers_racing_disposal_stay_accounted()
        {
            for (var round = 0; round < 10; round++)
            {
                var bento = new CountingBento();
                var pipeline = Pipeline(Options(bento, o => { o.QueueLimit = 50; o.BatchSizeLimit = 7; o.ShutdownTimeout = TimeSpan.FromMilliseconds(round % 2 == 0 ? 0 : 200); }), "review-race");
                long notified = 0;
                var sentinelHeard = 0;
                pipeline.ItemsDropped = (reason, items, dropped) =>
                {
                    var sentinels = items.Count(IsSentinel);
                    if (sentinels > 0) Volatile.Write(ref sentinelHeard, 1);
                    Interlocked.Add(ref notified, dropped - sentinels);
                };
                var stop = 0;
                var producers = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
                {
                    for (var i = 0; Volatile.Read(ref stop) == 0 || i < 100; i++) pipeline.TryEnqueue(Event(i));
                })).ToArray();
                await PipelineUnderTest.Until(() => pipeline.Counters.Offered > 200); // the producers are running
                await pipeline.DisposeAsync();
                Volatile.Write(ref stop, 1);
                await Task.WhenAll(producers);
                var c = pipeline.Counters;
                Assert.True(c.Offered == c.Sent + c.DroppedTotal, $"round {round}: {c}");
                // A request Bento answered while the hard stop cancelled it counts as shutdown (accepted by the model).
                Assert.True(bento.Events >= c.Sent && bento.Events <= c.Sent + c.Dropped(DropReason.Shutdown), $"round {round}: bento got {bento.Events}; {c}");
                // The listener may miss drops beyond DeliveryLedger.MaxPendingNotifications (documented), never hear of more.
                // Late notifications from the thread pool may still come: let them all arrive, so that too many would show.
                // Caller-side drops reach the listener in order, so once it hears of a sentinel dropped after every
                // counted drop, none is still on its way (a sentinel past the listener's backlog limit is not passed on:
                // offer another until one is).
                await PipelineUnderTest.Until(() =>
                {
                    if (Volatile.Read(ref sentinelHeard) == 1) return true;
                    pipeline.TryEnqueue(Sentinel());
                    return false;
                });
                Assert.True(Interlocked.Read(ref notified) <= c.DroppedTotal, $"round {round}: notified {notified} > dropped; {c}");
            }
        }
    }
}
