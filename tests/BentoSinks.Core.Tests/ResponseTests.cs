using System;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Diagnostics;

namespace BentoSinks.Core.Tests
{
    public class ResponseTests
    {
        private static async Task<PipelineUnderTest> WithFaults(params Fault[] faults)
        {
            var h = await PipelineUnderTest.StartAsync(o =>
            {
                o.Period = TimeSpan.FromSeconds(1);
                o.RequestTimeout = TimeSpan.FromSeconds(5);
            }, fakeTime: true);
            h.Emulator.EnqueueFaults(faults);
            return h;
        }

        [Theory]
        [InlineData(500)]
        [InlineData(502)]
        [InlineData(503)]
        [InlineData(504)]
        [InlineData(429)]
        [InlineData(408)]
        public async Task Transient_statuses_are_retried_and_delivered_once(int status)
        {
            await using var h = await WithFaults(Fault.WithStatus(status), Fault.WithStatus(status));
            for (var i = 0; i < 100; i++) h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i));
            await h.PumpUntil(() => h.Emulator.EventCount == 100, TimeSpan.FromMilliseconds(500));
            Assert.Equal(new[] { status, status, 200 }, h.Emulator.Requests.Select(r => r.Status).ToArray());
            Assert.Equal(100, h.Emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).Distinct().Count());
            Assert.Equal(2, h.Counters.Retries);
            h.AssertAccounted();
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public async Task Retry_After_is_honoured_in_seconds_and_as_an_http_date(bool asDate)
        {
            await using var h = await WithFaults();
            var retryAfter = asDate ? h.Time!.GetUtcNow().AddSeconds(30).ToString("R") : "30";
            h.Emulator.EnqueueFaults(Fault.WithStatus(429, retryAfter));
            h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(1));
            await h.PumpUntil(() => h.Emulator.EventCount == 1, TimeSpan.FromSeconds(1));
            var requests = h.Emulator.Requests;
            Assert.Equal(2, requests.Count);
            Assert.True(requests[1].At - requests[0].At >= TimeSpan.FromSeconds(29), $"retried after {requests[1].At - requests[0].At}");
            Assert.True(h.Pipeline.CurrentRatePerMinute < double.PositiveInfinity, "a 429 slows the pipeline down");
        }

        [Fact]
        public async Task Aborted_connections_timeouts_and_html_block_pages_are_retried()
        {
            await using var h = await WithFaults(Fault.Abort(), Fault.Delayed(TimeSpan.FromSeconds(60)), Fault.HtmlPage());
            for (var i = 0; i < 10; i++) h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i));
            await h.PumpUntil(() => h.Emulator.EventCount == 10, TimeSpan.FromMilliseconds(500));
            Assert.Equal(10, h.Emulator.EventCount);
            Assert.Equal(3, h.Counters.Retries);
            Assert.Contains("not Bento's JSON result", h.Diagnostics.All);
            Assert.Contains("request timeout", h.Diagnostics.All);
            h.AssertAccounted();
        }

        [Fact]
        public async Task A_poisoned_event_is_isolated_and_the_other_999_are_delivered()
        {
            await using var h = await PipelineUnderTest.StartAsync(o => o.Period = TimeSpan.FromHours(1));
            h.Emulator.Poison = e => e.GetProperty("details").GetProperty("n").GetInt32() == 617;
            for (var i = 0; i < 1000; i++) h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i));
            await h.Pipeline.FlushAsync();
            Assert.Equal(999, h.Emulator.EventCount);
            Assert.DoesNotContain(h.Emulator.Events, e => e.Detail("n")!.Value.GetInt32() == 617);
            Assert.Equal(1, h.Counters.Dropped(DropReason.Rejected));
            Assert.Equal(999, h.Emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).Distinct().Count());
            h.AssertAccounted();
        }

        [Fact]
        public async Task A_413_splits_the_batch_until_it_fits()
        {
            await using var h = await PipelineUnderTest.StartAsync(o => o.Period = TimeSpan.FromHours(1), e => e.MaxRequestBytes = 20_000);
            for (var i = 0; i < 1000; i++) h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i));
            await h.Pipeline.FlushAsync();
            Assert.Equal(1000, h.Emulator.EventCount);
            Assert.Contains(h.Emulator.Requests, r => r.Status == 413);
            h.AssertAccounted();
        }

        [Fact]
        public async Task Wrong_credentials_are_dropped_as_unauthorized_and_reported_without_the_secret()
        {
            await using var h = await PipelineUnderTest.StartAsync(o => { o.Period = TimeSpan.FromHours(1); o.SecretKey = "s3cr3t-wrong-key"; });
            for (var i = 0; i < 5; i++) h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i));
            await h.Pipeline.FlushAsync();
            Assert.Equal(5, h.Counters.Dropped(DropReason.Unauthorized));
            var text = h.Diagnostics.All;
            Assert.Contains("ERROR", text);
            Assert.Contains("401", text);
            Assert.DoesNotContain("s3cr3t-wrong-key", text);
            Assert.DoesNotContain(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("emulator-publishable-key:s3cr3t-wrong-key")), text);
            Assert.DoesNotContain("@example.com", text);
            h.AssertAccounted();
        }

        [Theory]
        [InlineData(403, (int)DropReason.Unauthorized)]
        [InlineData(404, (int)DropReason.Rejected)]
        [InlineData(410, (int)DropReason.Rejected)]
        public async Task Other_client_errors_are_final(int status, int reason)
        {
            await using var h = await PipelineUnderTest.StartAsync(o => o.Period = TimeSpan.FromHours(1));
            h.Emulator.EnqueueFaults(Fault.WithStatus(status));
            for (var i = 0; i < 5; i++) h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i));
            await h.Pipeline.FlushAsync();
            Assert.Equal(5, h.Counters.Dropped((DropReason)reason));
            Assert.Single(h.Emulator.Requests);
            h.AssertAccounted();
        }

        [Fact]
        public async Task A_422_is_split_like_a_400_and_the_halves_are_delivered()
        {
            await using var h = await PipelineUnderTest.StartAsync(o => o.Period = TimeSpan.FromHours(1));
            h.Emulator.EnqueueFaults(Fault.WithBody(422, "{\"errors\":[{\"field\":\"events[2].email\",\"message\":\"is invalid\"}]}"));
            for (var i = 0; i < 5; i++) h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i));
            await h.Pipeline.FlushAsync();
            Assert.Equal(new[] { 422, 200, 200 }, h.Emulator.Requests.Select(r => r.Status).ToArray());
            Assert.Equal(5, h.Emulator.EventCount);
            Assert.Equal(0, h.Counters.DroppedTotal);
            h.AssertAccounted();
        }

        [Fact]
        public async Task A_redirect_is_not_followed_and_the_batch_is_dropped()
        {
            await using var h = await PipelineUnderTest.StartAsync(o => o.Period = TimeSpan.FromHours(1));
            h.Emulator.EnqueueFaults(Fault.Redirect(308, h.Emulator.ApiBase.AbsoluteUri + "/batch/events?site_uuid=moved&token=sekrit"));
            for (var i = 0; i < 5; i++) h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i));
            await h.Pipeline.FlushAsync();
            Assert.Single(h.Emulator.Requests);
            Assert.Equal(0, h.Emulator.EventCount);
            Assert.Equal(5, h.Counters.Dropped(DropReason.Rejected));
            Assert.Contains("308", h.Diagnostics.All);
            Assert.DoesNotContain("sekrit", h.Diagnostics.All);
            h.AssertAccounted();
        }

        [Fact]
        public async Task An_outage_longer_than_the_retry_limit_drops_the_batch_then_delivery_resumes()
        {
            await using var h = await PipelineUnderTest.StartAsync(o =>
            {
                o.Period = TimeSpan.FromSeconds(1);
                o.RetryTimeLimit = TimeSpan.FromMinutes(2);
            }, fakeTime: true);
            h.Emulator.SetRandomFaults(1.0, 1, Fault.WithStatus(503));
            for (var i = 0; i < 50; i++) h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i));
            await h.PumpUntil(() => h.Counters.Dropped(DropReason.RetriesExhausted) == 50, TimeSpan.FromSeconds(2));
            Assert.Contains("giving up", h.Diagnostics.All);
            h.Emulator.ClearFaults();
            for (var i = 50; i < 60; i++) h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i));
            await h.PumpUntil(() => h.Emulator.EventCount == 10, TimeSpan.FromSeconds(1));
            h.AssertAccounted();
        }

        [Fact]
        public async Task Random_faults_at_20_percent_still_deliver_every_event_exactly_once()
        {
            await using var h = await PipelineUnderTest.StartAsync(o => { o.Period = TimeSpan.FromSeconds(1); o.BatchSizeLimit = 100; o.RequestTimeout = TimeSpan.FromSeconds(5); }, fakeTime: true);
            h.Emulator.SetRandomFaults(0.2, 42, Fault.WithStatus(500), Fault.WithStatus(503), Fault.WithStatus(429, "1"), Fault.Abort(), Fault.Delayed(TimeSpan.FromSeconds(30)));
            for (var i = 0; i < 10_000; i++) h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(i));
            await h.PumpUntil(() => h.Emulator.EventCount >= 10_000, TimeSpan.FromSeconds(1), maxSteps: 50_000);
            Assert.Equal(10_000, h.Emulator.Events.Select(e => e.Detail("n")!.Value.GetInt32()).Distinct().Count());
            Assert.Equal(10_000, h.Emulator.EventCount);
            Assert.True(h.Counters.Retries > 0);
            h.AssertAccounted();
        }
    }
}
