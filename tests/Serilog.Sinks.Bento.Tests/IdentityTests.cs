using System.Linq;
using System.Threading.Tasks;
using BentoSinks;
using Serilog.Context;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary>The ambient <see cref="BentoIdentity"/> on the Serilog path; an email on the event (or log context) wins.</summary>
    [Collection("SelfLog")]
    public class IdentityTests
    {
        [Fact]
        public async Task The_ambient_identity_identifies_events_without_an_email_and_other_sinks_see_the_event_unchanged()
        {
            await using var under = await SerilogUnderTest.StartAsync(logger: c => c.Enrich.FromLogContext());
            using (BentoIdentity.Push("ada@example.com", "Ada", "Lovelace"))
            {
                under.Logger.ForAnalytics("from_identity").Information("Signed up");
                under.Logger.ForAnalytics("explicit").Information("For {Email}", "grace@example.com");
                using (LogContext.PushProperty("Email", "linus@example.com"))
                    under.Logger.ForAnalytics("from_log_context").Information("Signed up");
            }
            under.Logger.ForAnalytics("after_the_scope").Information("No one");
            var events = (await under.FlushAsync()).ToDictionary(e => e.Type);

            Assert.Equal(3, events.Count);
            Assert.Equal("ada@example.com", events["from_identity"].Email);
            Assert.Equal("Ada", events["from_identity"].Field("first_name")?.GetString());
            Assert.Equal("Lovelace", events["from_identity"].Field("last_name")?.GetString());
            Assert.Equal("grace@example.com", events["explicit"].Email);
            Assert.Null(events["explicit"].Field("first_name"));
            Assert.Equal("linus@example.com", events["from_log_context"].Email);
            // The sink copies the event: the other sinks' event has no Email property added.
            Assert.DoesNotContain(under.Seen, e => e.Properties.ContainsKey("AnalyticsEvent") && (string)((Serilog.Events.ScalarValue)e.Properties["AnalyticsEvent"]).Value! == "from_identity" && e.Properties.ContainsKey("Email"));
        }
    }
}
