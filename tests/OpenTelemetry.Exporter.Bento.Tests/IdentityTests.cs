using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>
    /// The user's identity on the OpenTelemetry paths: tags on in-process parents, the ambient <see cref="BentoIdentity"/>,
    /// and an email on the event winning over both.
    /// </summary>
    [Collection("Exporter")]
    public class IdentityTests
    {
        private static ActivityEvent Analytics(string type, params (string, object?)[] tags)
        {
            var collection = new ActivityTagsCollection { ["analytics.event"] = true };
            foreach (var (k, v) in tags) collection[k] = v;
            return new ActivityEvent(type, DateTimeOffset.UtcNow, collection);
        }

        private static ServiceProvider Logging(BentoEmulator emulator)
        {
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddOpenTelemetry().WithLogging(b => b.AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)), o => o.IncludeScopes = true);
            return services.BuildServiceProvider();
        }

        [Fact]
        public async Task A_child_activitys_event_finds_the_email_and_names_tagged_once_on_the_request_activity()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)).Build())
            {
                using var request = source.StartActivity("POST /trial")!;
                request.SetTag("user.email", "ada@example.com");
                request.SetTag("user.first_name", "Ada");
                using (var child = source.StartActivity("start trial")!)
                using (var grandchild = source.StartActivity("billing")!)
                {
                    grandchild.AddEvent(Analytics("trial_started"));
                }
                request.Stop();
            }
            var e = Assert.Single(emulator.Events);
            Assert.Equal("ada@example.com", e.Email);
            Assert.Equal("Ada", e.Field("first_name")?.GetString());
        }

        [Fact]
        public async Task An_activity_event_recorded_inside_a_scope_is_sent_as_that_scopes_user_not_as_the_user_around_the_activitys_end()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)).Build())
            {
                using (BentoIdentity.Push("admin@example.com", "Admin"))
                {
                    using var checkout = source.StartActivity("checkout")!;
                    checkout.AddEvent(Analytics("checkout_started"));
                    Activity gift;
                    using (BentoIdentity.Push("grace@example.com", "Grace"))
                    {
                        gift = source.StartActivity("gift")!; // started in Grace's scope: its events recorded in the scope are hers
                        gift.AddEvent(Analytics("gift_received"));
                        // The admin's activity, while the admin's and Grace's scopes were both open on it: no one's.
                        checkout.AddEvent(Analytics("gift_noted"));
                    }
                    using (BentoIdentity.Push((BentoIdentity?)null)) checkout.AddEvent(Analytics("anonymous_note"));
                    // After scopes open on it ended while it ran, work that copied them (and sees nobody) could record on
                    // it: the activity cannot tell who recorded this one, so it is no one's rather than the admin's.
                    checkout.AddEvent(Analytics("checkout_finished"));
                    gift.Stop(); // ends in the admin's scope
                    checkout.Stop();
                }
            }
            var events = emulator.Events.ToDictionary(e => e.Type);
            Assert.Equal(new[] { "checkout_started", "gift_received" }, events.Keys.OrderBy(k => k, StringComparer.Ordinal));
            Assert.Equal("admin@example.com", events["checkout_started"].Email);
            Assert.Equal("grace@example.com", events["gift_received"].Email); // not the admin's: Grace's scope recorded it
            Assert.Equal("Grace", events["gift_received"].Field("first_name")?.GetString());
        }

        [Fact]
        public async Task An_event_recorded_on_a_shared_activity_by_two_concurrent_users_scopes_is_sent_as_no_one()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)).Build())
            {
                using var digest = source.StartActivity("weekly digest")!;
                var adaIn = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                var graceIn = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                var ada = Task.Run(async () =>
                {
                    using (BentoIdentity.Push("ada@example.com"))
                    {
                        adaIn.SetResult(true);
                        await graceIn.Task; // Grace's scope opened on the same activity after Ada's
                        digest.AddEvent(Analytics("digest_sent"));
                    }
                });
                var grace = Task.Run(async () =>
                {
                    await adaIn.Task;
                    using (BentoIdentity.Push("grace@example.com"))
                    {
                        graceIn.SetResult(true);
                        await ada; // Grace's scope is still open when Ada records
                    }
                });
                await Task.WhenAll(ada, grace);
                digest.Stop();
            }
            // Which scope recorded it cannot be told from the activity: no one, never Grace.
            Assert.DoesNotContain(emulator.Events, e => e.Email == "grace@example.com");
        }

        [Fact]
        public async Task Background_work_that_outlives_the_request_never_takes_the_email_tagged_on_the_ended_request_activity()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)).Build())
            {
                var requestEnded = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                Task background;
                using (var request = source.StartActivity("POST /export")!)
                {
                    request.SetTag("user.email", "ada@example.com");
                    request.SetTag("user.first_name", "Ada");
                    request.SetBaggage("user.email", "ada@example.com");
                    // A consumer started lazily by Ada's request: it copies the request's context (Activity.Current).
                    background = Task.Run(async () =>
                    {
                        await requestEnded.Task;
                        using var job = source.StartActivity("export job")!; // its parent is Ada's ended request activity
                        job.AddEvent(Analytics("export_finished")); // Grace's job, or anyone's
                    });
                    using (var inRequest = source.StartActivity("validate")!) inRequest.AddEvent(Analytics("export_requested"));
                }
                requestEnded.SetResult(true);
                await background;
            }
            var byType = emulator.Events.ToDictionary(e => e.Type);
            Assert.Equal("ada@example.com", byType["export_requested"].Email); // during the request: Ada's
            Assert.False(byType.ContainsKey("export_finished"), "export_finished was sent as " + (byType.TryGetValue("export_finished", out var e) ? e.Email : ""));
        }

        [Fact]
        public async Task The_ambient_identity_identifies_activity_events_and_log_records_and_an_explicit_email_wins()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using (var tracer = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)).Build())
            await using (var logs = Logging(emulator))
            {
                var logger = logs.GetRequiredService<ILogger<IdentityTests>>();
                using (BentoIdentity.Push("ada@example.com", "Ada", "Lovelace"))
                {
                    using (var a = source.StartActivity("work")!)
                    {
                        a.AddEvent(Analytics("from_identity"));
                        a.AddEvent(Analytics("explicit", ("user.email", "grace@example.com")));
                    }
#pragma warning disable CA1848, CA2254 // the test's own messages
                    logger.LogInformation("{AnalyticsEvent}", "log_from_identity");
                    logger.LogInformation("{AnalyticsEvent} {Email} {FirstName}", "log_explicit", "grace@example.com", "Grace");
                }
                logger.LogInformation("{AnalyticsEvent}", "after_the_scope"); // no identity any more: no_email
#pragma warning restore CA1848, CA2254
            }
            var byType = emulator.Events.ToDictionary(e => e.Type);
            Assert.Equal(new[] { "explicit", "from_identity", "log_explicit", "log_from_identity" }, byType.Keys.OrderBy(k => k, StringComparer.Ordinal));
            Assert.Equal("ada@example.com", byType["from_identity"].Email);
            Assert.Equal("Lovelace", byType["from_identity"].Field("last_name")?.GetString());
            Assert.Equal("ada@example.com", byType["log_from_identity"].Email);
            Assert.Equal("Ada", byType["log_from_identity"].Field("first_name")?.GetString());
            // An email on the event wins, and the identity's names never join another user's email.
            Assert.Equal("grace@example.com", byType["explicit"].Email);
            Assert.Null(byType["explicit"].Field("first_name"));
            Assert.Equal("grace@example.com", byType["log_explicit"].Email);
            Assert.Equal("Grace", byType["log_explicit"].Field("first_name")?.GetString());
            Assert.Null(byType["log_explicit"].Field("last_name"));
        }

        [Fact]
        public async Task A_request_activity_ending_after_the_scope_keeps_the_identity_for_events_recorded_during_the_scope_only()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)).Build())
            {
                // As UseBentoIdentity does: the scope is attached to the request's activity, which ends after the scope.
                var request = source.StartActivity("POST /trial")!;
                using (BentoIdentity.Push(new BentoIdentity("ada@example.com", "Ada"), request))
                {
                    request.AddEvent(Analytics("trial_requested"));
                    using (BentoIdentity.Push((BentoIdentity?)null)) // "nobody" wins over the request's identity
                    using (var anonymous = source.StartActivity("anonymous part")!)
                        anonymous.AddEvent(Analytics("pushed_nobody"));
                }
                // After the scope: work still running under the request's activity (background work that copied the flow).
                request.AddEvent(Analytics("added_after_the_scope"));
                using (var late = source.StartActivity("late child")!) late.AddEvent(Analytics("late_child"));
                request.Stop();
            }
            var e = Assert.Single(emulator.Events);
            Assert.Equal(("trial_requested", "ada@example.com", "Ada"), (e.Type, e.Email, e.Field("first_name")?.GetString()));
        }

        [Fact]
        public async Task A_log_record_written_after_the_scope_attached_to_the_current_activity_ended_gets_no_identity()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using var listener = new ActivityListener { ShouldListenTo = s => s == source, Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded };
            ActivitySource.AddActivityListener(listener);
            await using (var logs = Logging(emulator))
            {
                var logger = logs.GetRequiredService<ILogger<IdentityTests>>();
                using var request = source.StartActivity("POST /signup")!;
                // The scope lives in a child flow (as the middleware's does); Activity.Current stays the request's here.
                await Task.Run(() =>
                {
                    using (BentoIdentity.Push(new BentoIdentity("ada@example.com", "Ada"), request))
                    {
#pragma warning disable CA1848, CA2254 // the test's own messages
                        logger.LogInformation("{AnalyticsEvent}", "during_the_scope");
                    }
                });
                logger.LogInformation("{AnalyticsEvent}", "after_the_scope"); // e.g. Response.OnCompleted: no scope here, an ended one on the activity
#pragma warning restore CA1848, CA2254
            }
            var e = Assert.Single(emulator.Events);
            Assert.Equal(("during_the_scope", "ada@example.com"), (e.Type, e.Email));
        }
    }
}
