using System;
using System.Linq;
using System.Threading.Tasks;
using BentoSinks;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary><c>WriteTo.Bento(arguments)</c> checks each argument itself; <c>ForAnalytics</c> works with a custom marker property.</summary>
    [Collection("SelfLog")] // builds a sink: its pipeline must not share the metrics tag of another test's
    public class ConfigurationApiTests
    {
        public static TheoryData<string, Action<LoggerConfiguration>> InvalidArguments => new TheoryData<string, Action<LoggerConfiguration>>
        {
            { "siteUuid", c => c.WriteTo.Bento(" ", "p", "k") },
            { "publishableKey", c => c.WriteTo.Bento("s", "", "k") },
            { "secretKey", c => c.WriteTo.Bento("s", "p", null!) },
            { "endpoint", c => c.WriteTo.Bento("s", "p", "k", endpoint: "not a uri") },
            { "endpoint", c => c.WriteTo.Bento("s", "p", "k", endpoint: "http://bento.example.com/api/v1") },
            { "endpoint", c => c.WriteTo.Bento("s", "p", "k", endpoint: "ftp://127.0.0.1/api/v1") },
            { "batchSizeLimit", c => c.WriteTo.Bento("s", "p", "k", batchSizeLimit: 0) },
            { "batchSizeLimit", c => c.WriteTo.Bento("s", "p", "k", batchSizeLimit: 1001) },
            { "period", c => c.WriteTo.Bento("s", "p", "k", period: TimeSpan.Zero) },
            { "queueLimit", c => c.WriteTo.Bento("s", "p", "k", queueLimit: 0) },
        };

        [Theory]
        [MemberData(nameof(InvalidArguments))]
        public void Each_invalid_argument_is_named_as_the_caller_wrote_it(string argument, Action<LoggerConfiguration> configure)
        {
            var ex = Assert.ThrowsAny<ArgumentException>(() => configure(new LoggerConfiguration()));
            Assert.Equal(argument, ex.ParamName);
            Assert.Null(ex.InnerException); // checked directly, not a rewritten option error
            Assert.Single(ex.Message.Split(new[] { "(Parameter" }, StringSplitOptions.None).Skip(1));
        }

        [Fact]
        public async Task ForAnalytics_and_ForPurchase_take_the_marker_property_a_sink_is_configured_with()
        {
            await using var f = await SerilogUnderTest.StartAsync(o => o.AnalyticsEventPropertyName = "BusinessEvent");
            var log = f.Logger.ForContext("Email", "ada@example.com");
            log.ForAnalytics("with_the_sinks_marker", "BusinessEvent").Information("Plan {plan}", "pro");
            log.ForAnalytics("with_the_default_marker").Information("ignored by this sink");
            log.ForPurchase(new BentoPurchase("order-9", 900, "EUR"), "BusinessEvent").Information("Order placed");
            var events = (await f.FlushAsync()).ToDictionary(e => e.Type);

            Assert.Equal(new[] { "$purchase", "with_the_sinks_marker" }, events.Keys.OrderBy(k => k, StringComparer.Ordinal));
            Assert.Equal("{\"plan\":\"pro\"}", events["with_the_sinks_marker"].Json.GetProperty("details").GetRawText());
            Assert.Equal("order-9", events["$purchase"].Json.GetProperty("details").GetProperty("unique").GetProperty("key").GetString());
        }

        [Fact]
        public void ForAnalytics_refuses_a_blank_marker_property()
        {
            var ex = Assert.Throws<ArgumentException>(() => new LoggerConfiguration().CreateLogger().ForAnalytics("x", " "));
            Assert.Equal("analyticsEventPropertyName", ex.ParamName);
        }
    }
}
