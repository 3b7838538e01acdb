using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks;
using BentoSinks.Diagnostics;
using OpenTelemetry.Trace;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>The exporter's EventSource: typed events with their values as payload fields, and the readable line.</summary>
    [Collection("Exporter")]
    public class EventSourceTests
    {
        [Fact]
        public void The_event_source_keeps_its_name_and_its_manifest_is_valid()
        {
            Assert.Equal("OpenTelemetry-Exporter-Bento", EventSource.GetName(typeof(BentoExporterEventSource)));
            var manifest = EventSource.GenerateManifest(typeof(BentoExporterEventSource), "OpenTelemetry.Exporter.Bento.dll", EventManifestOptions.Strict);
            Assert.NotNull(manifest);
            foreach (var name in new[] { "Warning", "Error", "EventsDropped", "RequestRetried", "RequestFailed", "Unauthorized", "InvalidEvent" })
                Assert.Contains("name=\"" + name + "\"", manifest);
        }

        [Theory]
        [InlineData("retry:503", false, "RequestRetried", 503, "")]
        [InlineData("retry:0", false, "RequestRetried", 0, "")]
        [InlineData("refused:400", false, "RequestFailed", 400, "")]
        [InlineData("rejected:404", true, "RequestFailed", 404, "")]
        [InlineData("unauthorized", true, "Unauthorized", 0, "")]
        [InlineData("invalid:a $tag event needs a string Tag", false, "InvalidEvent", 0, "a $tag event needs a string Tag")]
        [InlineData("format:InvalidOperationException", false, "InvalidEvent", 0, "could not be written as JSON (InvalidOperationException)")]
        [InlineData("redirect", true, "Other", 0, "")]
        [InlineData("retry:soon", false, "Other", 0, "")]
        [InlineData("loop:NullReferenceException", true, "Other", 0, "")]
        public void Problems_are_classified_by_their_key_never_by_their_text(string key, bool error, string kind, int status, string detail)
        {
            var problem = BentoProblem.FromKey(key, error);
            Assert.Equal(kind, problem.Kind.ToString());
            Assert.Equal(status, problem.Status);
            Assert.Equal(detail, problem.Detail);
            Assert.Equal(error, problem.IsError);
        }

        [Fact]
        public async Task Drops_retries_refusals_and_invalid_events_arrive_as_typed_events()
        {
            using var listener = new TypedEvents();
            await using var emulator = await BentoEmulator.StartAsync();
            emulator.EnqueueFaults(Fault.WithStatus(503));
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)).Build())
            {
                using (var a = source.StartActivity("checkout")!)
                {
                    a.SetTag("user.email", "ada@example.com");
                    a.AddEvent(Analytics("paid", ("n", 1)));
                    a.AddEvent(Analytics("$purchase", ("Purchase", new BentoPurchase("order-1", -5, "USD"))));
                }
                using (var anonymous = source.StartActivity("anonymous")!)
                    anonymous.AddEvent(Analytics("signup_completed"));
            }
            Assert.Equal("paid", Assert.Single(emulator.Events).Type);

            var retried = listener.Single("RequestRetried");
            Assert.Equal(EventLevel.Warning, retried.Level);
            Assert.Equal(503, retried.Payload["status"]);
            Assert.Contains("retrying", (string)retried.Payload["message"]!);

            var invalid = listener.Single("InvalidEvent");
            Assert.StartsWith("a $purchase needs a Purchase", (string)invalid.Payload["reason"]!);

            var dropped = listener.All("EventsDropped").ToDictionary(e => (string)e.Payload["reason"]!, e => (long)e.Payload["count"]!);
            Assert.Equal(1L, dropped["no_email"]);
            Assert.Equal(1L, dropped["invalid"]);
            Assert.DoesNotContain("ada@example.com", listener.Text);
        }

        [Fact]
        public async Task A_401_is_an_Unauthorized_error_and_its_events_are_dropped_as_unauthorized()
        {
            using var listener = new TypedEvents();
            await using var emulator = await BentoEmulator.StartAsync();
            emulator.EnqueueFaults(Fault.WithStatus(401));
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)).Build())
            {
                using var a = source.StartActivity("x")!;
                a.SetTag("user.email", "ada@example.com");
                for (var i = 0; i < 3; i++) a.AddEvent(Analytics("step", ("n", i)));
            }
            Assert.Empty(emulator.Events);
            var unauthorized = listener.Single("Unauthorized");
            Assert.Equal(EventLevel.Error, unauthorized.Level);
            Assert.Contains("check the site UUID", (string)unauthorized.Payload["message"]!);
            var dropped = listener.All("EventsDropped").Single(e => (string)e.Payload["reason"]! == "unauthorized");
            Assert.Equal(3L, dropped.Payload["count"]);
            Assert.DoesNotContain(BentoEmulatorOptions.DefaultSecretKey, listener.Text);
        }

        private static ActivityEvent Analytics(string type, params (string Key, object? Value)[] tags)
        {
            var collection = new ActivityTagsCollection { ["analytics.event"] = true };
            foreach (var (key, value) in tags) collection[key] = value;
            return new ActivityEvent(type, default, collection);
        }

        /// <summary>The exporter's events with their payload by name. The EventSource is process-wide: tests look for what they caused.</summary>
        private sealed class TypedEvents : EventListener
        {
            private readonly ConcurrentQueue<(string Name, EventLevel Level, Dictionary<string, object?> Payload)> _events = new();

            public IEnumerable<(string Name, EventLevel Level, Dictionary<string, object?> Payload)> All(string name) => _events.Where(e => e.Name == name);

            public (string Name, EventLevel Level, Dictionary<string, object?> Payload) Single(string name)
            {
                var all = All(name).ToList();
                Assert.True(all.Count == 1, $"expected one {name} event, got {all.Count}:\n{Text}");
                return all[0];
            }

            public string Text => string.Join("\n", _events.Select(e => e.Name + " " + string.Join(", ", e.Payload.Select(p => p.Key + "=" + p.Value))));

            protected override void OnEventSourceCreated(EventSource eventSource)
            {
                if (eventSource.Name == "OpenTelemetry-Exporter-Bento") EnableEvents(eventSource, EventLevel.Verbose);
                base.OnEventSourceCreated(eventSource);
            }

            protected override void OnEventWritten(EventWrittenEventArgs eventData)
            {
                if (eventData.EventSource.Name != "OpenTelemetry-Exporter-Bento" || eventData.EventName is null) return;
                var payload = new Dictionary<string, object?>();
                for (var i = 0; i < (eventData.PayloadNames?.Count ?? 0); i++) payload[eventData.PayloadNames![i]] = eventData.Payload![i];
                _events.Enqueue((eventData.EventName, eventData.Level, payload));
            }
        }
    }
}
