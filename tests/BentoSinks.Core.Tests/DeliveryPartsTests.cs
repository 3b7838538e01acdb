using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Delivery;
using BentoSinks.Diagnostics;

namespace BentoSinks.Core.Tests
{
    /// <summary>The pipeline's parts on their own, without a server: the retry schedule, the budget, the batch, the reporter, the ledger.</summary>
    public class DeliveryPartsTests
    {
        [Fact]
        public void Backoff_grows_from_half_a_second_to_a_minute_with_equal_jitter()
        {
            Assert.Equal(TimeSpan.FromMilliseconds(500), RetrySchedule.Backoff(0, 0));
            Assert.True(RetrySchedule.Backoff(0, 0.999) < TimeSpan.FromSeconds(1));
            Assert.Equal(TimeSpan.FromSeconds(2), RetrySchedule.Backoff(2, 0));
            Assert.Equal(TimeSpan.FromSeconds(30), RetrySchedule.Backoff(10, 0));
            Assert.Equal(TimeSpan.FromSeconds(30), RetrySchedule.Backoff(int.MaxValue, 0));
            Assert.True(RetrySchedule.Backoff(int.MaxValue, 1) <= TimeSpan.FromMinutes(1));
            Assert.Equal(TimeSpan.FromMilliseconds(500), RetrySchedule.Backoff(-5, double.NaN));
        }

        [Theory]
        [InlineData(0)]
        [InlineData(-1)]
        public void A_Retry_After_of_zero_or_in_the_past_never_skips_the_backoff(int seconds)
        {
            var delay = RetrySchedule.Next(0, TimeSpan.Zero, TimeSpan.FromSeconds(seconds), TimeSpan.FromMinutes(10), 0, 0);
            Assert.Equal(TimeSpan.FromMilliseconds(500), delay);
        }

        [Fact]
        public void An_absurd_Retry_After_is_clamped_and_a_real_one_is_jittered_upwards()
        {
            var absurd = RetrySchedule.Next(0, TimeSpan.Zero, TimeSpan.FromSeconds(5_000_000), TimeSpan.FromDays(7), 0, 0.999)!.Value;
            Assert.True(absurd <= TimeSpan.FromTicks((long)(RetrySchedule.MaxRetryAfter.Ticks * 1.2)), absurd.ToString());
            Assert.True(absurd >= RetrySchedule.MaxRetryAfter);
            Assert.Equal(TimeSpan.FromSeconds(30), RetrySchedule.Next(0, TimeSpan.Zero, TimeSpan.FromSeconds(30), TimeSpan.FromHours(1), 0, 0));
            Assert.InRange(RetrySchedule.Next(0, TimeSpan.Zero, TimeSpan.FromSeconds(30), TimeSpan.FromHours(1), 0, 1)!.Value, TimeSpan.FromSeconds(35.99), TimeSpan.FromSeconds(36));
            Assert.Equal(RetrySchedule.MaxRetryAfter, RetrySchedule.ServerDelay(TimeSpan.MaxValue, 0));
        }

        [Fact]
        public void The_time_limit_runs_from_the_first_failure_and_the_last_wait_ends_at_it()
        {
            var limit = TimeSpan.FromSeconds(10);
            Assert.Null(RetrySchedule.Next(3, TimeSpan.FromSeconds(10), null, limit, 0, 0));
            Assert.Null(RetrySchedule.Next(0, TimeSpan.Zero, null, TimeSpan.Zero, 0, 0));
            Assert.Equal(TimeSpan.FromSeconds(1), RetrySchedule.Next(6, TimeSpan.FromSeconds(9), null, limit, 0, 0));
            Assert.Equal(TimeSpan.FromSeconds(2), RetrySchedule.Next(0, TimeSpan.FromSeconds(8), TimeSpan.FromMinutes(3), limit, 0, 0));
        }

        [Fact]
        public void The_budget_spaces_requests_and_a_429_blocks_even_a_flush()
        {
            var time = FakeClock.New();
            var budget = new RequestBudget(time, 60);
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true)); // spent
            Assert.Equal(TimeSpan.FromSeconds(1), budget.TryTake(honourSpacing: true)); // not spent: must wait
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: false)); // a flush skips the spacing
            budget.OnThrottled(TimeSpan.FromSeconds(20));
            // Half of what was spent (2 requests in the budget's first moment, counted over 10 s: 12 a minute), not of 60.
            Assert.Equal(6, budget.CurrentRatePerMinute);
            // But not a 429's block (stretched by a random part of one spacing at the new rate, 10 s, for a fleet not to retry in step).
            Assert.InRange(budget.TryTake(honourSpacing: false), TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(30));
            time.Advance(TimeSpan.FromSeconds(30));
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: false));
            budget.OnThrottled(TimeSpan.FromDays(58));
            Assert.InRange(budget.TryTake(honourSpacing: false), RetrySchedule.MaxRetryAfter, RetrySchedule.MaxRetryAfter + RequestBudget.BlockSpread); // clamped, never a 58-day timer
        }

        [Fact]
        public void Pipelines_of_one_account_share_one_budget_with_the_smallest_limit()
        {
            var time = FakeClock.New();
            using var a = RequestBudget.Acquire("https://app.bentonow.com|site-a", time, 20);
            using var b = RequestBudget.Acquire("https://app.bentonow.com|site-a", time, 30);
            using var other = RequestBudget.Acquire("https://app.bentonow.com|site-b", time, 20);
            Assert.Same(a.Budget, b.Budget);
            Assert.NotSame(a.Budget, other.Budget);
            Assert.Equal(2, a.Budget.Sharers);
            Assert.Equal(20, a.Budget.CurrentRatePerMinute);
            Assert.Equal(TimeSpan.Zero, a.Budget.TryTake(honourSpacing: true));
            Assert.Equal(TimeSpan.FromSeconds(3), b.Budget.TryTake(honourSpacing: true)); // the other sharer spent it
            a.Budget.OnThrottled(TimeSpan.FromSeconds(30));
            Assert.InRange(b.Budget.TryTake(honourSpacing: false), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30) + RequestBudget.BlockSpread); // one 429 state
            using (var onAnotherClock = RequestBudget.Acquire("https://app.bentonow.com|site-a", FakeClock.New(), 20))
                Assert.NotSame(a.Budget, onAnotherClock.Budget);
        }

        [Fact]
        public void The_batch_keeps_a_running_size_and_releases_a_large_buffer_when_idle()
        {
            using var batch = new Batch("site");
            var empty = batch.BodyLength;
            Assert.Equal(Encoding.UTF8.GetByteCount("{\"site_uuid\":\"site\",\"events\":[]}"), empty);
            var one = Encoding.UTF8.GetBytes("{\"type\":\"a\"}");
            Assert.Equal(empty + one.Length, batch.SingleEventBodyLength(one.Length));
            batch.Add(one);
            Assert.Equal(empty + one.Length, batch.BodyLength);
            Assert.Equal(empty + 2 * one.Length + 1, batch.BodyLengthWith(one.Length));
            var big = new byte[3 * 1024 * 1024];
            big[0] = (byte)'{';
            big[big.Length - 1] = (byte)'}';
            batch.Add(big);
            Assert.Equal(empty + one.Length + 1 + big.Length, batch.BodyLength);
            Assert.Equal(batch.BodyLength, batch.BodyLengthOf(0, 2));
            Assert.Equal(empty + big.Length, batch.BodyLengthOf(1, 1));
            batch.Clear();
            Assert.Equal(empty, batch.BodyLength);
            batch.ReleaseMemory();
            Assert.True(batch.BufferCapacity <= Batch.IdleBufferBytes, $"kept {batch.BufferCapacity} bytes while idle");
        }

        [Fact]
        public void A_pending_drop_count_is_written_when_its_interval_ends_without_another_drop()
        {
            var time = FakeClock.New();
            var lines = new ListDiagnostics();
            using var reporter = new RateLimitedReporter(lines, time, TimeSpan.FromSeconds(10));
            reporter.Dropped(DropReason.NoEmail, 1);
            reporter.Dropped(DropReason.NoEmail, 4);
            Assert.Single(lines.Lines);
            time.Advance(TimeSpan.FromSeconds(11));
            Assert.Equal(2, lines.Lines.Count);
            Assert.Contains("dropped 4 events (no_email)", lines.Lines.Last());
        }

        [Fact]
        public async Task The_failure_listener_never_runs_on_the_callers_thread()
        {
            await using var h = await PipelineUnderTest.StartAsync(o => { o.QueueLimit = 1; o.Period = TimeSpan.FromHours(1); });
            var threads = new ConcurrentBag<int>();
            var heard = new ConcurrentBag<DropReason>();
            using var release = new ManualResetEventSlim();
            h.Pipeline.ItemsDropped = (reason, items, dropped) =>
            {
                threads.Add(Environment.CurrentManagedThreadId);
                heard.Add(reason);
                release.Wait(TimeSpan.FromSeconds(30)); // a fallback sink that blocks until the test lets it go
            };
            var caller = Environment.CurrentManagedThreadId;
            for (var i = 0; i < 20; i++) h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i));
            h.Pipeline.EnqueueIfIdentified(new TestEvent(), hasEmail: false);
            // The caller is back while the listener still blocks: it never waited for it (on its thread it would have).
            Assert.DoesNotContain(caller, threads);
            release.Set();
            await PipelineUnderTest.Until(() => heard.Count >= 2);
            Assert.DoesNotContain(caller, threads);
            Assert.Contains(DropReason.QueueFull, heard);
            Assert.Contains(DropReason.NoEmail, heard);
        }

        [Fact]
        public async Task Events_Bento_counts_as_failed_reach_the_failure_listener()
        {
            var handler = new FailedCountHandler(failed: 2);
            var options = new BentoOptions { SiteUuid = "s", PublishableKey = "p", SecretKey = "k", Endpoint = new Uri("http://127.0.0.1:1/api/v1"), MessageHandler = handler, Period = TimeSpan.FromHours(1) };
            var settings = options.Validate();
            await using var pipeline = new BentoPipeline<TestEvent>(settings, new TestFormatter(), new ListDiagnostics(), "tests");
            var heard = new List<(DropReason Reason, int Items, int Dropped)>();
            pipeline.ItemsDropped = (reason, items, dropped) => { lock (heard) heard.Add((reason, items.Count, dropped)); };
            for (var i = 0; i < 5; i++) pipeline.TryEnqueue(PipelineUnderTest.Numbered(i));
            await pipeline.FlushAsync();
            Assert.Equal(3, pipeline.Counters.Sent);
            Assert.Equal(2, pipeline.Counters.Dropped(DropReason.Rejected));
            Assert.Equal((DropReason.Rejected, 5, 2), Assert.Single(heard));
        }

        [Fact]
        public async Task A_pipeline_built_where_flow_is_already_suppressed_starts()
        {
            var options = new BentoOptions { SiteUuid = "s", PublishableKey = "p", SecretKey = "k", Endpoint = new Uri("http://127.0.0.1:1/api/v1"), MessageHandler = new FailedCountHandler(0) };
            BentoPipeline<TestEvent>? pipeline = null;
            using (ExecutionContext.SuppressFlow())
            {
                pipeline = new BentoPipeline<TestEvent>(options.Validate(), new TestFormatter(), new ListDiagnostics(), "tests");
            }
            await using (pipeline)
            {
                pipeline.TryEnqueue(PipelineUnderTest.Numbered(1));
                await pipeline.FlushAsync();
                Assert.Equal(1, pipeline.Counters.Sent);
            }
        }

        [Fact]
        public async Task A_flush_during_a_spaced_split_skips_the_budget_wait()
        {
            // 20 requests a minute: a split's second request would wait 3 s; a flush must not.
            await using var h = await PipelineUnderTest.StartAsync(o => { o.Period = TimeSpan.FromHours(1); o.MaxRequestsPerMinute = 20; }, fakeTime: true);
            h.Emulator.EnqueueFaults(Fault.WithStatus(413));
            for (var i = 0; i < 10; i++) h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i));
            var flush = h.Pipeline.FlushAsync();
            await h.Emulator.WaitForEventsAsync(10, TimeSpan.FromSeconds(20)); // no clock movement at all
            await flush;
            Assert.Equal(new[] { 413, 200, 200 }, h.Emulator.Requests.Select(r => r.Status).ToArray());
        }

        private sealed class FailedCountHandler : System.Net.Http.HttpMessageHandler
        {
            private readonly int _failed;
            public FailedCountHandler(int failed) => _failed = failed;

            protected override async Task<System.Net.Http.HttpResponseMessage> SendAsync(System.Net.Http.HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var body = await request.Content!.ReadAsStringAsync(cancellationToken);
                var n = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("events").GetArrayLength();
                return new System.Net.Http.HttpResponseMessage(System.Net.HttpStatusCode.OK)
                {
                    Content = new System.Net.Http.StringContent($"{{\"results\":{n - _failed},\"failed\":{_failed}}}", Encoding.UTF8, "application/json"),
                };
            }
        }
    }
}
