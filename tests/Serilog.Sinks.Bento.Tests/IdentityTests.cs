using System;
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
        [Fact]
        public async Task A_scope_disposed_out_of_order_never_hands_the_outer_user_the_inner_scopes_events()
        {
            await using var under = await SerilogUnderTest.StartAsync();
            using (BentoIdentity.Push("admin@example.com", "Admin"))
            {
                var nobody = BentoIdentity.Push((BentoIdentity?)null);
                using (BentoIdentity.Push("grace@example.com", "Grace"))
                {
                    nobody.Dispose(); // out of order: Grace's scope is still open
                    under.Logger.ForAnalytics("gift_received").Information("A gift for the customer");
                }
            }
            var events = await under.FlushAsync();

            var gift = Assert.Single(events);
            Assert.Equal("grace@example.com", gift.Email); // not the admin's: Grace's scope was still open
            Assert.Equal("Grace", gift.Field("first_name")?.GetString());
        }

        [Fact]
        public async Task A_scope_disposed_in_another_flow_never_gives_that_flow_the_user_of_the_flow_that_pushed_it()
        {
            await using var under = await SerilogUnderTest.StartAsync();
            var handedOff = new TaskCompletionSource<IDisposable>(TaskCreationOptions.RunContinuationsAsynchronously);
            var adaDone = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var adaRequest = Task.Run(async () =>
            {
                using (BentoIdentity.Push("ada@example.com", "Ada"))
                {
                    handedOff.SetResult(BentoIdentity.Push((BentoIdentity?)null)); // a job's "nobody" scope, handed to other code
                    await adaDone.Task; // Ada's request is still running
                }
            });
            await Task.Run(async () =>
            {
                using (BentoIdentity.Push("grace@example.com", "Grace"))
                {
                    (await handedOff.Task).Dispose(); // disposed in Grace's flow
                    under.Logger.ForAnalytics("order_placed").Information("Grace's order");
                }
            });
            adaDone.SetResult(true);
            await adaRequest;
            var events = await under.FlushAsync();

            var order = Assert.Single(events);
            Assert.Equal("grace@example.com", order.Email); // not Ada's
            Assert.Equal("Grace", order.Field("first_name")?.GetString());
        }
    }
}
