using BentoSinks.Delivery;
using BentoSinks;
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using BentoSinks.Json;

namespace BentoSinks.Core.Tests
{
    /// <summary>The rules of Bento's event format, in the one writer every front end feeds.</summary>
    public class EventWriterTests
    {
        private static readonly DateTimeOffset At = new DateTimeOffset(2026, 11, 22, 11, 0, 0, 5, TimeSpan.FromHours(1));
        private const string Head = "{\"type\":\"T\",\"email\":\"ada@example.com\",\"date\":\"2026-11-22T10:00:00.005Z\"";

        private sealed class Item
        {
            public List<(string Name, object? Value)> Fields { get; } = new List<(string, object?)>();
            public List<(string Name, object? Value)> Details { get; } = new List<(string, object?)>();
        }

        /// <summary>A front end in miniature: fields and details as lists of pairs, CLR values.</summary>
        private sealed class ListSource : IBentoEventSource<Item, object?>
        {
            public void AddFields(in Item item, ref BentoFields fields)
            {
                foreach (var (name, value) in item.Fields) fields.Add(name, value);
            }

            public void AddDetails(in Item item, ref BentoDetails<object?> details)
            {
                foreach (var (name, value) in item.Details) details.Add(name, value);
            }
        }

        private static (bool Ok, string Json, string? Reason) Write(string type, Item item)
        {
            var buffer = new PooledBufferWriter();
            using var writer = new Utf8JsonWriter(buffer, BentoJson.WriterOptions);
            var ok = new BentoEventWriter().TryWrite(writer, new ListSource(), ClrValues.Instance, item, type, "ada@example.com", At, out var reason);
            writer.Flush();
            return (ok, Encoding.UTF8.GetString(buffer.WrittenSpan), reason);
        }

        private static Item With(params (string, object?)[] details)
        {
            var item = new Item();
            item.Details.AddRange(details);
            return item;
        }

        [Fact]
        public void Fields_and_details_are_opened_only_when_they_get_a_member()
        {
            var item = new Item();
            item.Fields.Add(("first_name", null));                 // null: left out
            item.Fields.Add(("address", new[] { "nested" }));      // not flat: left out
            Assert.Equal((true, Head.Replace("\"T\"", "\"x\"") + "}", (string?)null), Write("x", item));

            item.Fields.Add(("last_name", "Lovelace"));
            item.Details.Add(("plan", "pro"));
            Assert.Equal(Head.Replace("\"T\"", "\"x\"") + ",\"fields\":{\"last_name\":\"Lovelace\"},\"details\":{\"plan\":\"pro\"}}", Write("x", item).Json);
        }

        [Fact]
        public void Unsubscribe_carries_type_email_and_date_only()
        {
            var item = With(("reason", "too many"));
            item.Fields.Add(("first_name", "Ada"));
            Assert.Equal(Head.Replace("\"T\"", "\"$unsubscribe\"") + "}", Write("$unsubscribe", item).Json);
        }

        [Theory]
        [InlineData("$tag")]
        [InlineData("$remove_tag")]
        public void Tag_events_carry_only_the_tag_found_ignoring_case(string type)
        {
            Assert.EndsWith(",\"details\":{\"tag\":\"vip\"}}", Write(type, With(("other", 1), ("tAg", "vip"), ("Tag", "second"))).Json);
            var (ok, _, reason) = Write(type, With(("Tag", "")));
            Assert.False(ok);
            Assert.Equal("a " + type + " event needs a string Tag", reason);
            Assert.False(Write(type, With(("Tag", 7))).Ok);
            Assert.False(Write(type, With()).Ok);
        }

        [Fact]
        public void A_purchase_comes_first_in_details_and_is_left_out_of_the_rest()
        {
            var json = Write("$purchase", With(("channel", "web"), ("PURCHASE", new BentoPurchase("order-1", 250, "eur", new[] { 1, 2 })), ("n", 1))).Json;
            Assert.EndsWith(",\"details\":{\"unique\":{\"key\":\"order-1\"},\"value\":{\"currency\":\"EUR\",\"amount\":250},\"cart\":[1,2],\"channel\":\"web\",\"n\":1}}", json);
        }

        [Theory]
        [InlineData("", 1, "USD")]
        [InlineData("k", -1, "USD")]
        [InlineData("k", 1, "US")]
        [InlineData("k", 1, "U5D")]
        public void An_invalid_purchase_is_refused_with_a_reason_free_of_data(string key, long amount, string currency)
        {
            var (ok, _, reason) = Write("$purchase", With(("Purchase", new BentoPurchase(key, amount, currency))));
            Assert.False(ok);
            Assert.Equal(BuiltInEvents.InvalidPurchase, reason);
            Assert.False(Write("$purchase", With(("Purchase", "order-1 250 EUR"))).Ok);
            Assert.False(Write("$purchase", With()).Ok);
        }

        [Fact]
        public void Values_nested_past_the_cap_become_the_one_placeholder()
        {
            object deep = "bottom";
            for (var i = 0; i < 40; i++) deep = new List<object> { deep };
            using var doc = JsonDocument.Parse(Write("x", With(("deep", deep))).Json, new JsonDocumentOptions { MaxDepth = 128 });
            var node = doc.RootElement.GetProperty("details").GetProperty("deep");
            var depth = 1;
            while (node.ValueKind == JsonValueKind.Array) { node = node[0]; depth++; }
            Assert.Equal(BentoJson.MaxValueDepth, depth);
            Assert.Equal(BentoJson.MaxDepthPlaceholder, node.GetString());
        }

        [Fact]
        public void A_field_map_groups_sources_by_field_in_first_mention_order()
        {
            var map = new BentoFieldMap(new[]
            {
                new KeyValuePair<string, string>("LastName", "last_name"),
                new KeyValuePair<string, string>("FirstName", "first_name"),
                new KeyValuePair<string, string>("family_name", "last_name"),
                new KeyValuePair<string, string>("", "ignored"),
            });
            Assert.Equal(2, map.FieldCount);
            Assert.Equal("last_name", map.Field(0).Value);
            Assert.Equal(new[] { "LastName", "family_name" }, Enumerable.Range(map.FirstSource(0), map.FirstSource(1) - map.FirstSource(0)).Select(map.Source));
            Assert.Equal("first_name", map.Field(1).Value);
            Assert.True(map.TryGetSource("family_name", out var s) && s == 1);
            Assert.False(map.IsSource("ignored"));
        }

        [Fact]
        public void IsScalar_matches_what_TryWriteScalar_writes()
        {
            var values = new object?[]
            {
                "s", true, 1, 2L, 1.5, 2.5m, 1.5f, (short)1, (byte)1, (sbyte)1, (ushort)1, 1u, 1ul, 'c', DateTimeOffset.UtcNow,
                DateTime.UtcNow, TimeSpan.FromSeconds(1), Guid.NewGuid(), DayOfWeek.Friday, new Uri("https://example.com"),
                System.Numerics.BigInteger.One, DateOnly.MinValue, TimeOnly.MinValue, (Half)1, (Int128)1, (UInt128)1,
                new[] { 1 }, new Dictionary<string, object?>(), new object(), new BentoPurchase("k", 1, "USD"),
            };
            var buffer = new PooledBufferWriter();
            using var writer = new Utf8JsonWriter(buffer, BentoJson.WriterOptions);
            foreach (var value in values)
            {
                writer.WriteStartArray();
                Assert.True(BentoJson.IsScalar(value) == BentoJson.TryWriteScalar(writer, value), value?.GetType().Name);
                writer.WriteEndArray();
            }
            Assert.False(BentoJson.IsScalar(null)); // written as null, but never a field
        }
    }
}
