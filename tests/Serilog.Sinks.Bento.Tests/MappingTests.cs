using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using BentoSinks;
using Serilog.Context;
using Serilog.Events;

namespace Serilog.Sinks.Bento.Tests
{
    public enum Plan { Free, Pro }

    [Collection("SelfLog")]
    public class MappingTests
    {
        [Fact]
        public async Task The_documented_example_arrives_field_for_field()
        {
            await using var f = await SerilogUnderTest.StartAsync();
            using (LogContext.PushProperty("Email", "ada@example.com"))
            using (LogContext.PushProperty("FirstName", "Ada"))
            using (LogContext.PushProperty("LastName", "Lovelace"))
            {
                f.Logger.ForAnalytics("signup_completed")
                    .Information("Signed up for {plan} with {seats} seats (trial {trial}) {tags} {@address}", "pro", 3, false, new[] { "a", "b" }, new { city = "Paris" });
            }
            var e = Assert.Single(await f.FlushAsync());
            var logged = f.Seen.Single();
            var date = logged.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'");
            JsonAssert.Equal(
                "{\"type\":\"signup_completed\",\"email\":\"ada@example.com\",\"date\":\"" + date + "\"," +
                "\"fields\":{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\"}," +
                "\"details\":{\"plan\":\"pro\",\"seats\":3,\"trial\":false,\"tags\":[\"a\",\"b\"],\"address\":{\"city\":\"Paris\"}}}",
                e.Json.GetRawText());
            var request = Assert.Single(f.Emulator.Requests);
            Assert.Contains("\"site_uuid\":\"emulator-site\"", request.Body);
            Assert.Contains("(Serilog)", request.Headers["user-agent"]);
        }

        [Fact]
        public async Task Details_keep_every_value_kind_faithfully()
        {
            await using var f = await SerilogUnderTest.StartAsync(o => o.ExcludedProperties.Add("Internal"));
            var when = new DateTimeOffset(2026, 1, 2, 3, 4, 5, 678, TimeSpan.FromHours(2));
            f.Logger.ForAnalytics("checkout_viewed").ForContext("Email", "b@example.com").ForContext("Internal", "hidden")
                .Information("{i} {l} {dec} {dbl} {yes} {nothing} {when} {utc} {plan} {@obj} {seq} {dict} {nan}",
                    42, 9_007_199_254_740_993L, 0.1m + 0.2m, 1.5, true, null, when, new DateTime(2026, 1, 2, 1, 4, 5, DateTimeKind.Utc), Plan.Pro,
                    new Order { Id = 7, Lines = new List<int> { 1, 2 } }, new List<string> { "x" }, new Dictionary<int, string> { [1] = "one" }, double.NaN);
            var d = Assert.Single(await f.FlushAsync()).Json.GetProperty("details");
            Assert.Equal(42, d.GetProperty("i").GetInt32());
            Assert.Equal("9007199254740993", d.GetProperty("l").GetRawText());
            Assert.Equal("0.3", d.GetProperty("dec").GetRawText());
            Assert.Equal(1.5, d.GetProperty("dbl").GetDouble());
            Assert.True(d.GetProperty("yes").GetBoolean());
            Assert.Equal(JsonValueKind.Null, d.GetProperty("nothing").ValueKind);
            Assert.Equal("2026-01-02T01:04:05.678Z", d.GetProperty("when").GetString());
            Assert.Equal("2026-01-02T01:04:05.000Z", d.GetProperty("utc").GetString());
            Assert.Equal("Pro", d.GetProperty("plan").GetString());
            Assert.Equal("{\"Id\":7,\"Lines\":[1,2]}", d.GetProperty("obj").GetRawText());
            Assert.Equal("[\"x\"]", d.GetProperty("seq").GetRawText());
            Assert.Equal("{\"1\":\"one\"}", d.GetProperty("dict").GetRawText());
            Assert.Equal("NaN", d.GetProperty("nan").GetString());
            Assert.False(d.TryGetProperty("Internal", out _));
            Assert.False(d.TryGetProperty("AnalyticsEvent", out _));
            Assert.False(d.TryGetProperty("Email", out _));
        }

        [Fact]
        public async Task Type_tags_are_written_only_when_asked()
        {
            await using var f = await SerilogUnderTest.StartAsync(o => o.IncludeTypeTag = true);
            f.Logger.ForAnalytics("x").ForContext("Email", "b@example.com").Information("{@obj}", new Order { Id = 1 });
            var d = Assert.Single(await f.FlushAsync()).Json.GetProperty("details");
            Assert.Equal("Order", d.GetProperty("obj").GetProperty("$type").GetString());
        }

        [Fact]
        public async Task Field_mappings_are_configurable_and_mapped_properties_leave_details()
        {
            await using var f = await SerilogUnderTest.StartAsync(o =>
            {
                o.FieldMappings["Company"] = "company";
                o.FieldMappings["Roles"] = "roles";
                o.EmailPropertyNames = new List<string> { "Login" };
            });
            f.Logger.ForAnalytics("x").ForContext("Login", "c@example.com").ForContext("FirstName", "Cy")
                .Information("{Company} {Roles}", "ACME", new[] { "admin" });
            var e = Assert.Single(await f.FlushAsync());
            Assert.Equal("c@example.com", e.Email);
            Assert.Equal("{\"first_name\":\"Cy\",\"company\":\"ACME\"}", e.Json.GetProperty("fields").GetRawText());
            var d = e.Json.GetProperty("details");
            Assert.False(d.TryGetProperty("Company", out _));
            Assert.Equal("[\"admin\"]", d.GetProperty("Roles").GetRawText()); // not flat: stays in details
        }

        [Fact]
        public async Task The_email_is_the_first_property_that_looks_like_one()
        {
            await using var f = await SerilogUnderTest.StartAsync();
            f.Logger.ForAnalytics("x").ForContext("Email", "not an email").ForContext("UserEmail", "d@example.com").ForContext("user.email", "e@example.com").Information("hi");
            Assert.Equal("d@example.com", Assert.Single(await f.FlushAsync()).Email);
        }

        [Fact]
        public async Task A_purchase_becomes_unique_key_value_and_cart()
        {
            await using var f = await SerilogUnderTest.StartAsync();
            var cart = new { items = new[] { new { product_name = "Pro plan", quantity = 1 } }, abandoned_checkout_url = "https://shop.example.com/c/1" };
            f.Logger.ForAnalytics("$purchase").ForContext("Email", "ada@example.com")
                .Information("Bought {@Purchase} via {channel}", new BentoPurchase("order-42", 1999, "USD", cart), "web");
            var e = Assert.Single(await f.FlushAsync());
            JsonAssert.Equal(
                "{\"unique\":{\"key\":\"order-42\"},\"value\":{\"currency\":\"USD\",\"amount\":1999}," +
                "\"cart\":{\"items\":[{\"product_name\":\"Pro plan\",\"quantity\":1}],\"abandoned_checkout_url\":\"https://shop.example.com/c/1\"},\"channel\":\"web\"}",
                e.Json.GetProperty("details").GetRawText());
        }

        [Fact]
        public async Task ForPurchase_destructures_the_purchase_for_the_caller()
        {
            await using var f = await SerilogUnderTest.StartAsync();
            f.Logger.ForContext("Email", "ada@example.com").ForPurchase(new BentoPurchase("order-7", 500, "EUR")).Information("Order placed");
            var e = Assert.Single(await f.FlushAsync());
            Assert.Equal("$purchase", e.Type);
            JsonAssert.Equal("{\"unique\":{\"key\":\"order-7\"},\"value\":{\"currency\":\"EUR\",\"amount\":500}}", e.Json.GetProperty("details").GetRawText());
        }

        [Fact]
        public async Task ForPurchase_writes_the_same_details_as_a_destructured_Purchase_cart_included()
        {
            // ForPurchase builds the structure itself (no reflection over BentoPurchase, for Native AOT): it must match
            // what Serilog's destructuring of {@Purchase} gives, and still destructure the app's own cart object.
            await using var f = await SerilogUnderTest.StartAsync();
            var log = f.Logger.ForContext("Email", "ada@example.com");
            var purchase = new BentoPurchase("order-8", 2500, "EUR", new { items = new[] { new { product_name = "Pro plan", quantity = 2 } } });
            log.ForPurchase(purchase).Information("Order placed");
            log.ForAnalytics("$purchase").Information("Order placed {@Purchase}", purchase);
            var events = await f.FlushAsync();
            Assert.Equal(2, events.Length);
            JsonAssert.Equal("{\"unique\":{\"key\":\"order-8\"},\"value\":{\"currency\":\"EUR\",\"amount\":2500},\"cart\":{\"items\":[{\"product_name\":\"Pro plan\",\"quantity\":2}]}}",
                events[0].Json.GetProperty("details").GetRawText());
            JsonAssert.Equal(events[0].Json.GetProperty("details").GetRawText(), events[1].Json.GetProperty("details").GetRawText());
        }

        [Theory]
        [InlineData("", 100, "USD")]
        [InlineData("k", -1, "USD")]
        [InlineData("k", 100, "US")]
        [InlineData("k", 100, "U$D")]
        public async Task An_invalid_purchase_is_dropped_alone_and_reported(string key, long amount, string currency)
        {
            using var selfLog = new SelfLogCapture();
            await using var f = await SerilogUnderTest.StartAsync();
            var log = f.Logger.ForContext("Email", "ada@example.com");
            log.ForAnalytics("$purchase").Information("{@Purchase}", new BentoPurchase(key, amount, currency));
            log.ForAnalytics("$purchase").Information("{@Purchase}", new { Key = "k2", Amount = 19.99m, Currency = "EUR" });
            log.ForAnalytics("after").Information("ok");
            var events = await f.FlushAsync();
            Assert.Equal("after", Assert.Single(events).Type);
            Assert.Contains("dropped an invalid event: a $purchase needs", selfLog.Text);
        }

        [Fact]
        public async Task Built_in_types_carry_what_Bento_expects()
        {
            await using var f = await SerilogUnderTest.StartAsync();
            var log = f.Logger.ForContext("Email", "ada@example.com").ForContext("FirstName", "Ada");
            log.ForAnalytics("$subscribe").Information("{@Fields}", new Dictionary<string, object> { ["plan"] = "pro", ["nested"] = new[] { 1 } });
            log.ForAnalytics("$update_fields").Information("{@Fields}", new { company = "ACME" });
            log.ForAnalytics("$tag").Information("Tagged {Tag} {extra}", "vip", 1);
            log.ForAnalytics("$remove_tag").Information("Untagged {Tag}", "trial");
            log.ForAnalytics("$unsubscribe").Information("Bye {reason}", "too many emails");
            var events = (await f.FlushAsync()).ToDictionary(e => e.Type);
            Assert.Equal("{\"first_name\":\"Ada\",\"plan\":\"pro\"}", events["$subscribe"].Json.GetProperty("fields").GetRawText());
            Assert.Equal("{\"first_name\":\"Ada\",\"company\":\"ACME\"}", events["$update_fields"].Json.GetProperty("fields").GetRawText());
            Assert.Equal("{\"tag\":\"vip\"}", events["$tag"].Json.GetProperty("details").GetRawText());
            Assert.Equal("{\"tag\":\"trial\"}", events["$remove_tag"].Json.GetProperty("details").GetRawText());
            var unsubscribe = events["$unsubscribe"].Json;
            Assert.False(unsubscribe.TryGetProperty("details", out _));
            Assert.False(unsubscribe.TryGetProperty("fields", out _));
        }

        public sealed class Order
        {
            public int Id { get; set; }
            public List<int>? Lines { get; set; }
        }
    }
}
