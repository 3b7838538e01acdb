using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Threading.Tasks;
using BentoSinks.Diagnostics;

namespace BentoSinks.Core.Tests
{
    public class OptionsTests
    {
        private static BentoOptions Valid() => new BentoOptions { SiteUuid = "site", PublishableKey = "pub", SecretKey = "very-secret" };

        [Theory]
        [InlineData("SiteUuid")]
        [InlineData("PublishableKey")]
        [InlineData("SecretKey")]
        [InlineData("BatchSizeLimit")]
        [InlineData("Period")]
        [InlineData("Endpoint")]
        [InlineData("QueueLimit")]
        public void Invalid_options_throw_naming_the_option(string name)
        {
            var o = Valid();
            switch (name)
            {
                case "SiteUuid": o.SiteUuid = " "; break;
                case "PublishableKey": o.PublishableKey = null; break;
                case "SecretKey": o.SecretKey = ""; break;
                case "BatchSizeLimit": o.BatchSizeLimit = 1001; break;
                case "Period": o.Period = TimeSpan.Zero; break;
                case "Endpoint": o.Endpoint = new Uri("http://bento.example.com/api/v1"); break;
                case "QueueLimit": o.QueueLimit = 0; break;
            }
            var ex = Assert.Throws<ArgumentException>(() => o.Validate());
            Assert.Equal(name, ex.ParamName);
            Assert.DoesNotContain("very-secret", ex.Message);
        }

        [Theory]
        [InlineData("http://127.0.0.1:5080/api/v1")]
        [InlineData("http://localhost:5080/api/v1")]
        [InlineData("http://[::1]:5080/api/v1")]
        [InlineData("https://app.bentonow.com/api/v1/")]
        public void Https_or_loopback_endpoints_are_accepted(string endpoint)
        {
            var o = Valid();
            o.Endpoint = new Uri(endpoint);
            var settings = o.Validate();
            Assert.EndsWith("/api/v1/batch/events?site_uuid=site", settings.RequestUri.AbsoluteUri);
        }

        [Fact]
        public void ToString_never_shows_the_secret()
        {
            var text = Valid().ToString();
            Assert.DoesNotContain("very-secret", text);
            Assert.Contains("SecretKey = ***", text);
            Assert.Contains("SiteUuid = site", text);
        }

        [Fact]
        public void Defaults_follow_Bentos_limits()
        {
            var o = new BentoOptions();
            Assert.Equal(1000, o.BatchSizeLimit);
            Assert.Equal(20, o.MaxRequestsPerMinute);
            Assert.Equal(100_000, o.QueueLimit);
            Assert.Equal(TimeSpan.FromMinutes(10), o.RetryTimeLimit);
            Assert.Equal(TimeSpan.FromSeconds(30), o.RequestTimeout);
            Assert.Equal(new Uri("https://app.bentonow.com/api/v1"), o.Endpoint);
            Assert.Contains("$view", o.ExcludedEventTypes);
            var settings = Valid().Validate();
            Assert.False(settings.IsRouted("$view"));
            Assert.True(settings.IsRouted("signup_completed"));
        }

        [Fact]
        public async Task Metrics_report_sent_and_dropped_by_reason()
        {
            var measurements = new List<(string Name, long Value, string? Reason)>();
            using var listener = new MeterListener();
            listener.InstrumentPublished = (i, l) => { if (i.Meter.Name == BentoMetrics.MeterName) l.EnableMeasurementEvents(i); };
            listener.SetMeasurementEventCallback<long>((inst, value, tags, _) =>
            {
                string? reason = null;
                foreach (var t in tags) if (t.Key == "reason") reason = (string?)t.Value;
                lock (measurements) measurements.Add((inst.Name, value, reason));
            });
            listener.Start();

            await using var h = await PipelineUnderTest.StartAsync(o => o.Period = TimeSpan.FromHours(1));
            h.Pipeline.TryEnqueue(PipelineUnderTest.Numbered(1));
            h.Pipeline.TryEnqueue(new TestEvent { Invalid = true });
            h.Pipeline.CountRefused(DropReason.NoEmail, new TestEvent());
            await h.Pipeline.FlushAsync();
            listener.RecordObservableInstruments();
            lock (measurements)
            {
                Assert.Contains(measurements, m => m.Name == "bento.events.sent" && m.Value == 1);
                Assert.Contains(measurements, m => m.Name == "bento.events.dropped" && m.Reason == "invalid");
                Assert.Contains(measurements, m => m.Name == "bento.events.dropped" && m.Reason == "no_email");
                Assert.Contains(measurements, m => m.Name == "bento.queue.depth" && m.Value == 0);
            }
        }

        [Fact]
        public void Pipelines_of_one_kind_get_distinct_metric_tags_and_a_disposed_ones_number_is_reused()
        {
            var kind = "tests-" + Guid.NewGuid().ToString("N");
            using var first = new BentoMetrics(kind, () => 0);
            var second = new BentoMetrics(kind, () => 0);
            using var third = new BentoMetrics(kind, () => 0);
            using var other = new BentoMetrics(kind + "-other", () => 0);
            Assert.Equal(kind, first.PipelineTag);
            Assert.Equal(kind + "#2", second.PipelineTag);
            Assert.Equal(kind + "#3", third.PipelineTag);
            Assert.Equal(kind + "-other", other.PipelineTag);

            second.Dispose();
            second.Dispose(); // idempotent: releases its number once
            using var fourth = new BentoMetrics(kind, () => 0);
            using var fifth = new BentoMetrics(kind, () => 0);
            Assert.Equal(kind + "#2", fourth.PipelineTag);
            Assert.Equal(kind + "#4", fifth.PipelineTag);
        }
    }
}
