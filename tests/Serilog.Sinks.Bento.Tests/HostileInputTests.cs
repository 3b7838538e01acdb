using BentoSinks.Delivery;
using BentoSinks;
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using BentoSinks.Json;
using CsCheck;
using Serilog.Events;
using Serilog.Parsing;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary>Property-based: generated property graphs never break the JSON, never throw out of Emit.</summary>
    [Collection("SelfLog")]
    public class HostileInputTests
    {
        private static Gen<object?> Pick(params object?[] values) => Gen.Int[0, values.Length - 1].Select(i => values[i]);

        private static readonly Gen<string> HostileString = Gen.OneOf(
            Gen.String,
            Gen.Char.Array[0, 40].Select(c => new string(c)),                                  // any UTF-16 unit, lone surrogates included
            Gen.Char['\u0000', '\u001f'].Array[0, 10].Select(c => new string(c)),              // control characters
            Gen.Char['\uD800', '\uDFFF'].Array[1, 6].Select(c => "x" + new string(c) + "y"),   // surrogates, paired or not
            Gen.Const("zoë@exämple.com"), Gen.Const("</script>\"\\'"), Gen.Const(""));

        private static readonly Gen<object?> Scalar = Gen.OneOf<object?>(
            Gen.Double.Select(d => (object?)d),
            Pick(double.NaN, double.PositiveInfinity, double.NegativeInfinity, float.NaN, decimal.MaxValue, decimal.MinValue, long.MinValue, ulong.MaxValue, null, true, false, '\uD800', DateTime.MinValue, DateTimeOffset.MaxValue, Guid.Empty, LogEventLevel.Fatal),
            Gen.Int.Select(i => (object?)i),
            Gen.Decimal.Select(m => (object?)m),
            HostileString.Select(s => (object?)s));

        private static Gen<LogEventPropertyValue> Value(int depth) => depth <= 0
            ? Scalar.Select(v => (LogEventPropertyValue)new ScalarValue(v))
            : Gen.Frequency(
                (4, Scalar.Select(v => (LogEventPropertyValue)new ScalarValue(v))),
                (1, Value(depth - 1).Array[0, 4].Select(a => (LogEventPropertyValue)new SequenceValue(a))),
                (1, Gen.Select(HostileString, Value(depth - 1)).Array[0, 4].Select(a => (LogEventPropertyValue)new StructureValue(
                    a.Select(p => new LogEventProperty(LogEventProperty.IsValidName(p.Item1) ? p.Item1 : "_", p.Item2)).GroupBy(p => p.Name).Select(g => g.First()), "T\uD800"))),
                (1, Gen.Select(Scalar, Value(depth - 1)).Array[0, 4].Select(a => (LogEventPropertyValue)new DictionaryValue(
                    a.Where(p => p.Item1 != null).Select(p => new KeyValuePair<ScalarValue, LogEventPropertyValue>(new ScalarValue(p.Item1), p.Item2)).GroupBy(p => p.Key.Value).Select(g => g.First())))));

        private static readonly Gen<LogEvent> HostileEvent =
            Gen.Select(HostileString, Gen.Select(HostileString, Value(6)).Array[0, 8], Gen.Int[0, 3])
               .Select(t =>
               {
                   var properties = new Dictionary<string, LogEventProperty>
                   {
                       ["AnalyticsEvent"] = new LogEventProperty("AnalyticsEvent", new ScalarValue(t.Item1.Length == 0 ? "t" : t.Item1)),
                       ["Email"] = new LogEventProperty("Email", new ScalarValue("zoë@exämple.com")),
                   };
                   foreach (var (name, value) in t.Item2)
                   {
                       var safeName = LogEventProperty.IsValidName(name) ? name : "p" + properties.Count;
                       properties.TryAdd(safeName, new LogEventProperty(safeName, value));
                   }
                   return new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Information, null, new MessageTemplate(Array.Empty<MessageTemplateToken>()), properties.Values);
               });

        [Fact]
        public void Every_generated_event_becomes_one_valid_json_object()
        {
            var formatter = new LogEventFormatter(new BentoSinkOptions { IncludeTypeTag = true });
            var buffer = new PooledBufferWriter();
            var writer = new Utf8JsonWriter(buffer, BentoJson.WriterOptions);
            HostileEvent.Sample(logEvent =>
            {
                buffer.Clear();
                writer.Reset(buffer);
                Assert.True(formatter.TryWriteEvent(writer, logEvent, out _));
                writer.Flush();
                Assert.Equal(0, writer.CurrentDepth);
                JsonDocument doc;
                try { doc = JsonDocument.Parse(buffer.WrittenMemory, new JsonDocumentOptions { MaxDepth = 256 }); }
                catch (JsonException) { throw new InvalidOperationException("invalid JSON: " + Convert.ToHexString(buffer.WrittenSpan) + " / " + System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan)); }
                using var parsed = doc;
                Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
                Assert.Equal(JsonValueKind.String, doc.RootElement.GetProperty("type").ValueKind);
            }, iter: 2000, threads: 1); // the formatter belongs to one reader loop: not shared across threads
        }

        [Fact]
        public async Task Generated_events_through_the_sink_arrive_as_valid_json_and_a_lone_oversized_event_is_dropped_alone()
        {
            using var selfLog = new SelfLogCapture();
            var events = HostileEvent.Array[200].Single();
            await using var f = await SerilogUnderTest.StartAsync(); // default 4 MiB request cap
            var huge = new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Information, null, new MessageTemplate(Array.Empty<MessageTemplateToken>()), new[]
            {
                new LogEventProperty("AnalyticsEvent", new ScalarValue("huge")),
                new LogEventProperty("Email", new ScalarValue("ada@example.com")),
                new LogEventProperty("blob", new ScalarValue(new string((char)120, 5_000_000))),
            });
            var oneMegabyte = new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Information, null, new MessageTemplate(Array.Empty<MessageTemplateToken>()), new[]
            {
                new LogEventProperty("AnalyticsEvent", new ScalarValue("megabyte")),
                new LogEventProperty("Email", new ScalarValue("ada@example.com")),
                new LogEventProperty("blob", new ScalarValue(new string('\uD800', 1_000_000))),
            });
            foreach (var e in events) f.Logger.Write(e);
            f.Logger.Write(huge);
            f.Logger.Write(oneMegabyte);
            var received = await f.FlushAsync();
            Assert.All(f.Emulator.Requests, r => Assert.Equal(200, r.Status));
            Assert.True(201 == received.Length, selfLog.Text);
            Assert.DoesNotContain(received, e => e.Type == "huge");
            Assert.Contains(received, e => e.Type == "megabyte");
        }
    }
}
