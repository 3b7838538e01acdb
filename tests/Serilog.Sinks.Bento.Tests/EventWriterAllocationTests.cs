using BentoSinks.Delivery;
using System;
using System.Collections.Generic;
using System.Text.Json;
using BentoSinks;
using BentoSinks.Json;
using Serilog.Context;
using Serilog.Core;
using Serilog.Events;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary>Measures allocations once the JIT has settled (tier-0 code allocates where optimized code does not).</summary>
    internal static class AllocationProbe
    {
        /// <summary>Runs <paramref name="pass"/> in rounds of 1,000 until a round allocates less than a byte per event, for up to 20 s.</summary>
        public static void AssertNoneInSteadyState(Action pass, int eventsPerPass)
        {
            const int Passes = 1000;
            long perEvent = -1;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(20))
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                for (var i = 0; i < Passes; i++) pass();
                perEvent = (GC.GetAllocatedBytesForCurrentThread() - before) / (Passes * (long)eventsPerPass);
                if (perEvent == 0) return;
            }
            Assert.Fail($"still {perEvent} B per event after 20 s of rounds");
        }
    }

    /// <summary>The reader loop's cost per event: the Serilog front end and the shared event writer allocate nothing.</summary>
    public class EventWriterAllocationTests
    {
        [Fact]
        public void Writing_ordinary_purchase_and_tag_events_allocates_nothing()
        {
            var events = new List<LogEvent>();
            var log = new LoggerConfiguration().Enrich.FromLogContext().WriteTo.Sink(new Collector(events)).CreateLogger();
            using (LogContext.PushProperty("Email", "ada@example.com"))
            using (LogContext.PushProperty("FirstName", "Ada"))
            using (LogContext.PushProperty("LastName", "Lovelace"))
            {
                log.ForAnalytics("feature_used").Information("Used {feature} on {plan} ({seats} seats, trial {trial}) at {when}", "export", "pro", 3, false, DateTimeOffset.UtcNow);
                log.ForPurchase(new BentoPurchase("order-42", 1999, "USD")).Information("Order placed via {channel}", "web");
                log.ForAnalytics("$tag").Information("Tagged {Tag}", "vip");
                log.ForAnalytics("$subscribe").Information("{@Fields}", new { company = "ACME", seats = 3 });
                log.ForAnalytics("$unsubscribe").Information("Bye");
            }
            var formatter = new LogEventFormatter(new BentoSinkOptions());
            using var buffer = new PooledBufferWriter(64 * 1024);
            var writer = new Utf8JsonWriter(buffer, BentoJson.WriterOptions);

            void WriteAll()
            {
                foreach (var e in events)
                {
                    buffer.Clear();
                    writer.Reset(buffer);
                    Assert.True(formatter.TryWriteEvent(writer, e, out _));
                    writer.Flush();
                }
            }

            AllocationProbe.AssertNoneInSteadyState(WriteAll, events.Count);
        }

        private sealed class Collector : ILogEventSink
        {
            private readonly List<LogEvent> _into;
            public Collector(List<LogEvent> into) => _into = into;
            public void Emit(LogEvent logEvent) => _into.Add(logEvent);
        }
    }
}
