using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    [Collection("Exporter")]
    public class TraceTests
    {
        private static ActivityEvent Analytics(string type, DateTimeOffset? at = null, params (string, object?)[] tags)
        {
            var collection = new ActivityTagsCollection { ["analytics.event"] = true };
            foreach (var (k, v) in tags) collection[k] = v;
            return new ActivityEvent(type, at ?? DateTimeOffset.UtcNow, collection);
        }

        [Fact]
        public async Task The_documented_example_arrives_as_an_activity_event()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)).Build())
            {
                using (var activity = source.StartActivity("POST /signup")!)
                {
                    activity.SetTag("user.email", "ada@example.com");
                    activity.SetTag("user.first_name", "Ada");
                    activity.SetTag("user.last_name", "Lovelace");
                    activity.AddEvent(Analytics("signup_completed", new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero),
                        ("plan", "pro"), ("seats", 3), ("trial", false), ("tags", new[] { "a", "b" }),
                        ("address", new Dictionary<string, object?> { ["city"] = "Paris" })));
                    activity.AddEvent(new ActivityEvent("cache_miss")); // ordinary event: ignored
                }
            }
            var e = Assert.Single(emulator.Events);
            JsonAssert.Equal(
                "{\"type\":\"signup_completed\",\"email\":\"ada@example.com\",\"date\":\"2026-11-22T10:00:00.000Z\"," +
                "\"fields\":{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\"}," +
                "\"details\":{\"plan\":\"pro\",\"seats\":3,\"trial\":false,\"tags\":[\"a\",\"b\"],\"address\":{\"city\":\"Paris\"}}}",
                e.Json.GetRawText());
            var request = Assert.Single(emulator.Requests);
            Assert.Contains("(OpenTelemetry traces)", request.Headers["user-agent"]);
            Assert.False(request.Headers.ContainsKey("traceparent"));
        }

        [Fact]
        public async Task The_email_comes_from_the_event_the_activity_enduser_id_or_baggage()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name)
                       .AddBentoExporter(o => { EmulatorOptions.Configure(o, emulator); o.IncludeTraceContext = true; }).Build())
            {
                using (var a = source.StartActivity("a")!)
                {
                    a.SetTag("user.email", "activity@example.com");
                    a.AddEvent(Analytics("from_event", null, ("user.email", "event@example.com")));
                    a.AddEvent(Analytics("from_activity"));
                }
                using (var a = source.StartActivity("b")!)
                {
                    a.SetTag("enduser.id", "enduser@example.com");
                    a.AddEvent(Analytics("from_enduser"));
                }
                using (var parent = source.StartActivity("parent")!)
                {
                    parent.AddBaggage("user.email", "baggage@example.com");
                    using var child = source.StartActivity("child")!;
                    child.AddEvent(Analytics("from_activity_baggage"));
                }
                Baggage.SetBaggage("user.email", "otel-baggage@example.com");
                try
                {
                    using var a = source.StartActivity("c")!;
                    a.AddEvent(Analytics("from_otel_baggage"));
                }
                finally
                {
                    Baggage.ClearBaggage();
                }
                using (var a = source.StartActivity("d")!)
                {
                    a.SetTag("enduser.id", "12345"); // not an email
                    a.AddEvent(Analytics("anonymous"));
                }
            }
            var byType = emulator.Events.ToDictionary(e => e.Type, e => e.Email);
            Assert.Equal("event@example.com", byType["from_event"]);
            Assert.Equal("activity@example.com", byType["from_activity"]);
            Assert.Equal("enduser@example.com", byType["from_enduser"]);
            Assert.Equal("baggage@example.com", byType["from_activity_baggage"]);
            Assert.Equal("otel-baggage@example.com", byType["from_otel_baggage"]);
            Assert.False(byType.ContainsKey("anonymous"));
            var withIds = emulator.Events.First(e => e.Type == "from_event");
            Assert.Equal(32, withIds.Detail("trace_id")!.Value.GetString()!.Length);
            Assert.Equal(16, withIds.Detail("span_id")!.Value.GetString()!.Length);
            Assert.Null(withIds.Detail("user.email"));
            Assert.Null(withIds.Detail("analytics.event"));
        }

        [Fact]
        public async Task Events_without_email_are_skipped_counted_and_warned_about_without_data()
        {
            using var listener = new ExporterEvents();
            await using var emulator = await BentoEmulator.StartAsync();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)).Build())
            {
                using var a = source.StartActivity("anon")!;
                a.AddEvent(Analytics("signup_completed", null, ("card", "4111-1111")));
            }
            Assert.Empty(emulator.Requests);
            Assert.Contains("dropped 1 event (no_email)", listener.Text);
            Assert.DoesNotContain("4111", listener.Text);
        }

        [Fact]
        public async Task A_custom_marker_tag_or_predicate_selects_analytics_events()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name)
                       .AddBentoExporter(o => { EmulatorOptions.Configure(o, emulator); o.AnalyticsEventFilter = e => e.Name.StartsWith("biz.", StringComparison.Ordinal); }).Build())
            {
                using var a = source.StartActivity("x")!;
                a.SetTag("user.email", "ada@example.com");
                a.AddEvent(new ActivityEvent("biz.trial_started"));
                a.AddEvent(new ActivityEvent("exception"));
            }
            Assert.Equal("biz.trial_started", Assert.Single(emulator.Events).Type);
        }

        [Fact]
        public async Task ForceFlush_delivers_and_shutdown_delivers_what_is_queued()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)).Build()!;
            void Emit(int n)
            {
                using var a = source.StartActivity("x")!;
                a.SetTag("user.email", "ada@example.com");
                a.AddEvent(Analytics("step", null, ("n", n)));
            }
            Emit(0);
            Assert.True(provider.ForceFlush(10_000));
            Assert.Equal(1, emulator.EventCount);
            for (var i = 1; i <= 3000; i++) Emit(i);
            Assert.True(provider.Shutdown(30_000));
            Assert.Equal(3001, emulator.EventCount);
            provider.Dispose();
        }

        [Fact]
        public void Activities_without_analytics_events_cost_no_queue_slot_and_no_allocation()
        {
            using var processor = new BentoActivityProcessor(new BentoExporterOptions { SiteUuid = "s", PublishableKey = "p", SecretKey = "k", Endpoint = new Uri("http://127.0.0.1:9/api/v1") });
            var activity = new Activity("ordinary").Start();
            activity.AddEvent(new ActivityEvent("cache_miss", default, new ActivityTagsCollection { ["key"] = "x" }));
            activity.Stop();
            processor.OnEnd(activity);
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 1000; i++) processor.OnEnd(activity);
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.Equal(0, processor.Pipeline.Counters.Offered);
        }

        [Fact]
        public void A_missing_site_uuid_fails_when_the_provider_is_built()
        {
            var ex = Assert.Throws<ArgumentException>(() => Sdk.CreateTracerProviderBuilder().AddBentoExporter(o => { o.PublishableKey = "p"; o.SecretKey = "k"; }).Build());
            Assert.Equal("SiteUuid", ex.ParamName);
        }

        [Fact]
        public async Task Named_options_and_IConfiguration_binding_configure_the_exporter()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Bento:SiteUuid"] = BentoEmulatorOptions.DefaultSiteUuid,
                ["Bento:PublishableKey"] = BentoEmulatorOptions.DefaultPublishableKey,
                ["Bento:SecretKey"] = BentoEmulatorOptions.DefaultSecretKey,
                ["Bento:Endpoint"] = emulator.ApiBase.ToString(),
                ["Bento:Period"] = "01:00:00",
                ["Bento:BatchSizeLimit"] = "2",
                ["Bento:ExcludedEventTypes:0"] = "internal_event",
            }).Build();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name)
                       .ConfigureServices(s => s.Configure<BentoExporterOptions>("bento-main", configuration.GetSection("Bento")))
                       .AddBentoExporter("bento-main", o => o.MaxRequestsPerMinute = 0)
                       .Build())
            {
                using var a = source.StartActivity("x")!;
                a.SetTag("user.email", "ada@example.com");
                for (var i = 0; i < 5; i++) a.AddEvent(Analytics("bound"));
                a.AddEvent(Analytics("internal_event"));
                a.AddEvent(Analytics("$view"));
            }
            Assert.Equal(5, emulator.EventCount);
            Assert.Equal(new[] { 2, 2, 1 }, emulator.Requests.Select(r => r.EventCount).ToArray());
        }

        [Fact]
        public async Task Environment_variables_fill_what_code_does_not_set_and_code_wins()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            Environment.SetEnvironmentVariable("BENTO_SITE_UUID", BentoEmulatorOptions.DefaultSiteUuid);
            Environment.SetEnvironmentVariable("BENTO_PUBLISHABLE_KEY", BentoEmulatorOptions.DefaultPublishableKey);
            Environment.SetEnvironmentVariable("BENTO_SECRET_KEY", "wrong-secret-from-env");
            Environment.SetEnvironmentVariable("BENTO_ENDPOINT", emulator.ApiBase.ToString());
            try
            {
                using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
                using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name)
                           .AddBentoExporter(o => { o.SecretKey = BentoEmulatorOptions.DefaultSecretKey; o.MaxRequestsPerMinute = 0; }).Build())
                {
                    using var a = source.StartActivity("x")!;
                    a.SetTag("user.email", "ada@example.com");
                    a.AddEvent(Analytics("from_env"));
                }
                Assert.Equal("from_env", Assert.Single(emulator.Events).Type);
            }
            finally
            {
                foreach (var k in new[] { "BENTO_SITE_UUID", "BENTO_PUBLISHABLE_KEY", "BENTO_SECRET_KEY", "BENTO_ENDPOINT" })
                    Environment.SetEnvironmentVariable(k, null);
            }
        }

        [Fact]
        public async Task A_purchase_and_tags_map_to_Bentos_built_in_types()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)).Build())
            {
                using var a = source.StartActivity("checkout")!;
                a.SetTag("user.email", "ada@example.com");
                a.AddEvent(Analytics("$purchase", null, ("Purchase", new BentoPurchase("order-42", 1999, "usd"))));
                a.AddEvent(Analytics("$purchase", null, ("Purchase", new BentoPurchase("order-43", -5, "USD")))); // invalid: dropped alone
                a.AddEvent(Analytics("$tag", null, ("tag", "vip")));
            }
            var events = emulator.Events.ToDictionary(e => e.Type);
            Assert.Equal(2, events.Count);
            JsonAssert.Equal("{\"unique\":{\"key\":\"order-42\"},\"value\":{\"currency\":\"USD\",\"amount\":1999}}", events["$purchase"].Json.GetProperty("details").GetRawText());
            Assert.Equal("{\"tag\":\"vip\"}", events["$tag"].Json.GetProperty("details").GetRawText());
        }

        [Fact]
        public async Task Sampled_out_traces_carry_no_events_so_the_logs_path_is_the_one_for_business_events()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            int recorded = 0;
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name)
                       .SetSampler(new TraceIdRatioBasedSampler(0.25))
                       .AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)).Build())
            {
                for (var i = 0; i < 400; i++)
                {
                    using var a = source.StartActivity("request");
                    if (a is null || !a.Recorded) { a?.AddEvent(Analytics("signup_completed")); continue; }
                    recorded++;
                    a.SetTag("user.email", "ada@example.com");
                    a.AddEvent(Analytics("signup_completed"));
                }
            }
            // Exactly the sampled-in share arrives: the sampler decides before any event exists.
            Assert.InRange(recorded, 40, 160);
            Assert.Equal(recorded, emulator.EventCount);
        }
    }
}
