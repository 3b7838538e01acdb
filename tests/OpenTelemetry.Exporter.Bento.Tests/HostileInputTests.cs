using System;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using CsCheck;
using OpenTelemetry.Trace;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>Property-based: generated activity tags never break the JSON and never throw out of OnEnd.</summary>
    [Collection("Exporter")]
    public class HostileInputTests
    {
        private static Gen<object?> Pick(params object?[] values) => Gen.Int[0, values.Length - 1].Select(i => values[i]);

        private static readonly Gen<string> HostileString = Gen.OneOf(
            Gen.String, Gen.Char.Array[0, 30].Select(c => new string(c)), Gen.Char['\uD800', '\uDFFF'].Array[1, 4].Select(c => new string(c)));

        private static readonly Gen<object?> TagValue = Gen.OneOf<object?>(
            Gen.Double.Select(d => (object?)d),
            Pick(double.NaN, double.NegativeInfinity, null, true, long.MaxValue, new[] { double.NaN, 1.5 }, new[] { "a\uDC00", "" }, new object?[] { null, 1, "x" }),
            Gen.Long.Array[0, 100].Select(a => (object?)a),
            HostileString.Select(s => (object?)s));

        [Fact]
        public async Task Generated_tags_arrive_as_valid_json()
        {
            var samples = Gen.Select(HostileString, Gen.Select(HostileString, TagValue).Array[0, 10]).Array[300].Single();
            await using var emulator = await BentoEmulator.StartAsync();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            var sent = 0;
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)).Build())
            {
                foreach (var (name, tags) in samples)
                {
                    using var a = source.StartActivity("request")!;
                    a.SetTag("user.email", "zoë@exämple.com");
                    var collection = new ActivityTagsCollection { ["analytics.event"] = true };
                    foreach (var (key, value) in tags) collection[key.Length == 0 ? "_" : key] = value;
                    collection["analytics.event"] = true;
                    a.AddEvent(new ActivityEvent(name.Length == 0 ? "e" : name, default, collection));
                    sent++;
                }
            }
            Assert.All(emulator.Requests, r => Assert.Equal(200, r.Status));
            Assert.Equal(sent, emulator.EventCount);
        }
    }
}
