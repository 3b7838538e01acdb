using BentoSinks.Delivery;
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Text.Json;
using BentoSinks;
using BentoSinks.Json;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>The reader loop's cost per event: both OpenTelemetry formatters and the shared event writer allocate nothing.</summary>
    public class EventWriterAllocationTests
    {
        [Fact]
        public void Writing_activity_events_allocates_nothing()
        {
            var formatter = new ActivityEventFormatter(new BentoExporterOptions { IncludeTraceContext = true });
            using var activity = new Activity("POST /signup").SetIdFormat(ActivityIdFormat.W3C).Start();
            activity.SetTag("user.email", "ada@example.com").SetTag("user.first_name", "Ada").SetTag("user.last_name", "Lovelace");
            var items = new[]
            {
                Item(formatter, activity, "signup_completed", ("plan", "pro"), ("seats", 3), ("trial", false), ("at", DateTimeOffset.UtcNow)),
                Item(formatter, activity, "$purchase", ("Purchase", new BentoPurchase("order-42", 1999, "USD")), ("channel", "web")),
                Item(formatter, activity, "$tag", ("tag", "vip")),
                Item(formatter, activity, "$unsubscribe"),
            };
            AssertNoAllocations(formatter, items);
        }

        [Fact]
        public void Writing_copied_log_records_allocates_nothing()
        {
            var formatter = new LogRecordFormatter(new BentoExporterOptions());
            var at = DateTimeOffset.UtcNow;
            var fields = new object?[] { "Ada", "Lovelace" }; // FirstName, LastName: the mappings' sources in order
            var items = new[]
            {
                new LogRecordItem("signup_completed", "ada@example.com", at, fields, Details(("plan", "pro"), ("seats", 3), ("trial", false))),
                new LogRecordItem("$purchase", "ada@example.com", at, fields, Details(("Purchase", new BentoPurchase("order-42", 1999, "USD")), ("channel", "web"))),
                new LogRecordItem("$tag", "ada@example.com", at, null, Details(("Tag", "vip"))),
            };
            AssertNoAllocations(formatter, items);
        }

        private static ActivityEventItem Item(ActivityEventFormatter formatter, Activity activity, string type, params (string Key, object? Value)[] tags)
        {
            var collection = new ActivityTagsCollection { ["analytics.event"] = true };
            foreach (var (key, value) in tags) collection[key] = value;
            var activityEvent = new ActivityEvent(type, DateTimeOffset.UtcNow, collection);
            Assert.True(formatter.IsAnalytics(activityEvent));
            return formatter.Capture(activity, activityEvent, 0);
        }

        private static KeyValuePair<string, object?>[] Details(params (string Key, object? Value)[] pairs)
            => Array.ConvertAll(pairs, p => new KeyValuePair<string, object?>(p.Key, p.Value));

        private static void AssertNoAllocations<TItem>(BentoSinks.Delivery.IBentoEventFormatter<TItem> formatter, TItem[] items)
        {
            using var buffer = new PooledBufferWriter(64 * 1024);
            var writer = new Utf8JsonWriter(buffer, BentoJson.WriterOptions);
            void WriteAll()
            {
                foreach (var item in items)
                {
                    buffer.Clear();
                    writer.Reset(buffer);
                    Assert.True(formatter.TryWriteEvent(writer, item, out var reason), reason);
                    writer.Flush();
                }
            }

            // Tier-0 code allocates where optimized code does not: measure rounds until the JIT has settled.
            const int Passes = 1000;
            long perEvent = -1;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(20))
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                for (var i = 0; i < Passes; i++) WriteAll();
                perEvent = (GC.GetAllocatedBytesForCurrentThread() - before) / (Passes * (long)items.Length);
                if (perEvent == 0) return;
            }
            Assert.Fail($"still {perEvent} B per event after 20 s of rounds");
        }
    }
}
