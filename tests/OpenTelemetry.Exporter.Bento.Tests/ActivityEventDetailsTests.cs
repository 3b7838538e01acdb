using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using OpenTelemetry.Trace;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>An activity event's details are what they were when its activity ended, not when its batch goes.</summary>
    [Collection("Exporter")]
    public class ActivityEventDetailsTests
    {
        [Fact]
        public async Task An_activity_events_list_and_dictionary_details_are_sent_as_they_were_though_the_app_reuses_them_for_the_next_user()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            var items = new List<string> { "Ada's book" };
            var answers = new Dictionary<string, object?> { ["employer"] = "Analytical Engines Ltd" };
            void Sync(string email)
            {
                using var activity = source.StartActivity("sync")!;
                activity.SetTag("user.email", email);
                activity.AddEvent(new ActivityEvent("profile_synced", default,
                    new ActivityTagsCollection { ["analytics.event"] = true, ["items"] = items, ["answers"] = answers, ["plan"] = "pro" }));
            }
            using (Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)).Build())
            {
                Sync("ada@example.com");
                // A batch job moves on to Grace, reusing its objects, while Ada's event still waits for its batch.
                items.Clear();
                items.Add("Grace's compiler");
                answers["employer"] = "US Navy";
                Sync("grace@example.com");
            }
            var ada = emulator.Events.Single(e => e.Email == "ada@example.com");
            Assert.Equal("[\"Ada's book\"]", ada.Detail("items")?.GetRawText());
            Assert.Equal("Analytical Engines Ltd", ada.Detail("answers")?.GetProperty("employer").GetString());
            Assert.Equal("pro", ada.Detail("plan")?.GetString());
            var grace = emulator.Events.Single(e => e.Email == "grace@example.com");
            Assert.Equal("[\"Grace's compiler\"]", grace.Detail("items")?.GetRawText());
            Assert.Equal("US Navy", grace.Detail("answers")?.GetProperty("employer").GetString());
        }
    }
}
