using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Channels;
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
    /// Adversarial cases for activity events' identity (issue 19, "the right person or no one"): each test states a
    /// behaviour that must hold, through the public API over HTTP to the emulator.
    /// </summary>
    [Collection("Exporter")]
    public class IdentityAttackTests
    {
        private static ActivityEvent Analytics(string type)
            => new ActivityEvent(type, DateTimeOffset.UtcNow, new ActivityTagsCollection { ["analytics.event"] = true });

        private sealed record Job(string Type, BentoIdentity? Owner);

        /// <summary>
        /// The README's pattern (tag <c>user.email</c> once on the request activity) plus the documented background recipe
        /// (capture the identity with the job, push it in the consumer). The consumer was started lazily by Ada's request,
        /// so its activities are children of Ada's request activity while that request runs (a slow upload, a request that
        /// waits for its job). Grace's job, pushed as Grace, must be Grace's; the anonymous job, pushed as nobody, must be
        /// nobody's. Neither may be sent as Ada because her live request activity carries her tag.
        /// </summary>
        [Fact]
        public async Task A_job_run_with_the_background_recipe_is_never_sent_as_the_user_tagged_on_the_request_that_started_the_consumer()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            var queue = Channel.CreateUnbounded<Job>();
            var processed = 0;
            var bothDone = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            Task consumer;
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)).Build())
            {
                using (BentoIdentity.Push("ada@example.com", "Ada"))
                {
                    using var request = source.StartActivity("POST /upload")!;
                    request.SetTag("user.email", "ada@example.com"); // as the README shows
                    // Ada's request starts the consumer lazily: it copies the request's context.
                    consumer = Task.Run(async () =>
                    {
                        await foreach (var job in queue.Reader.ReadAllAsync())
                        {
                            using (BentoIdentity.Push(job.Owner)) // the documented recipe
                            using (var export = source.StartActivity("export")!)
                            {
                                export.AddEvent(Analytics(job.Type));
                            }
                            if (Interlocked.Increment(ref processed) == 2) bothDone.TrySetResult(true);
                        }
                    });
                    // While Ada's request still runs, Grace's request and an anonymous visitor's request enqueue their jobs
                    // (each job carries who asked for it: BentoIdentity.Current in those requests).
                    queue.Writer.TryWrite(new Job("grace_export_finished", new BentoIdentity("grace@example.com", "Grace")));
                    queue.Writer.TryWrite(new Job("anonymous_export_finished", null));
                    await bothDone.Task.WaitAsync(TimeSpan.FromSeconds(30));
                }
                queue.Writer.Complete();
                await consumer;
            }
            Assert.Empty(emulator.EventsFor("ada@example.com"));
            Assert.Empty(emulator.EventsOfType("anonymous_export_finished"));
            var grace = Assert.Single(emulator.EventsOfType("grace_export_finished"));
            Assert.Equal("grace@example.com", grace.Email);
        }

        /// <summary>
        /// docs/identity.md: an event recorded inside <c>Push(customer)</c> on an activity started in that scope and stopped
        /// in another scope is the customer's, "never the user around the activity's end". The flow that stops it here is
        /// Ada's request, whose <see cref="Baggage.Current"/> carries <c>user.email</c> (OpenTelemetry's ASP.NET Core
        /// instrumentation fills it from the incoming <c>baggage</c> header). The baggage of the flow that ends the activity
        /// is not the baggage of the flow that recorded the event: Grace's event must stay Grace's.
        /// </summary>
        [Fact]
        public async Task An_event_recorded_in_graces_scope_is_not_sent_as_the_email_in_the_baggage_of_the_flow_that_stops_the_activity()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)).Build())
            {
                Activity order;
                using (BentoIdentity.Push("grace@example.com", "Grace"))
                {
                    order = source.StartActivity("order")!;
                    order.AddEvent(Analytics("order_placed"));
                    Activity.Current = null; // Grace's flow goes on without it; the order is completed elsewhere
                }
                await Task.Run(() =>
                {
                    // Another request (Ada's), with a baggage header naming her, completes the order.
                    Baggage.SetBaggage("user.email", "ada@example.com");
                    using (BentoIdentity.Push("ada@example.com", "Ada")) order.Stop();
                });
            }
            var e = Assert.Single(emulator.EventsOfType("order_placed"));
            Assert.Equal("grace@example.com", e.Email);
        }

        /// <summary>
        /// Ada (signed in; her request activity tagged with her email and first name, as the README shows) invites Grace: the
        /// event names Grace with its own <c>user.email</c>. Bento updates the profile of the event's email with its
        /// <c>first_name</c>, so a first name looked up on Ada's request activity would rename Grace "Ada". A name found
        /// on an activity belongs with the email found there: never on an event whose email came from somewhere else.
        /// </summary>
        [Fact]
        public async Task An_event_carrying_another_users_email_never_gets_the_first_name_tagged_for_the_signed_in_user()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)).Build())
            {
                using var request = source.StartActivity("POST /invite")!;
                request.SetTag("user.email", "ada@example.com");
                request.SetTag("user.first_name", "Ada");
                using (var invite = source.StartActivity("invite")!)
                {
                    invite.AddEvent(new ActivityEvent("invited", DateTimeOffset.UtcNow,
                        new ActivityTagsCollection { ["analytics.event"] = true, ["user.email"] = "grace@example.com" }));
                }
                request.Stop();
            }
            var e = Assert.Single(emulator.EventsOfType("invited"));
            Assert.Equal("grace@example.com", e.Email);
            Assert.NotEqual("Ada", e.Field("first_name")?.GetString());
        }

        /// <summary>
        /// An anonymous visitor signs up: the middleware pushed nobody for the anonymous request, the handler pushes the new
        /// user. On the request's activity two scopes are then open (nobody's and Ada's), and an activity does not say which
        /// flow recorded an event: work of the request outside Ada's scope (a <c>Task.Run</c> started before the push) could
        /// have recorded it too. The choice (docs/identity.md): such an event is nobody's (counted <c>no_email</c>), never a
        /// guess; an activity started inside the push is the new user's, and that is the documented way.
        /// </summary>
        [Fact]
        public async Task A_sign_up_event_is_the_new_users_on_an_activity_started_inside_the_push_and_nobodys_on_the_anonymous_request_activity()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var source = new ActivitySource("bento.tests." + Guid.NewGuid());
            using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)).Build())
            {
                var request = source.StartActivity("POST /signup")!; // started by hosting, before any middleware
                using (BentoIdentity.Push((BentoIdentity?)null)) // UseBentoIdentity for an anonymous request
                {
                    using (BentoIdentity.Push("ada@example.com", "Ada")) // the handler: the account now exists
                    {
                        request.AddEvent(Analytics("signed_up"));
                        using (var signup = source.StartActivity("create account")!) signup.AddEvent(Analytics("account_created"));
                    }
                }
                request.Stop();
            }
            var created = Assert.Single(emulator.EventsOfType("account_created"));
            Assert.Equal("ada@example.com", created.Email);
            Assert.Empty(emulator.EventsOfType("signed_up"));
        }

        /// <summary>
        /// The README's log pattern: an <c>ILogger</c> scope carries the signed-in user's <c>Email</c> and <c>FirstName</c>.
        /// Ada invites Grace; the record names Grace with its own <c>Email</c> attribute. Ada's first name from the scope
        /// must not land on Grace's event (Bento would rename Grace's profile "Ada").
        /// </summary>
        [Fact]
        public async Task A_log_record_carrying_another_users_email_never_gets_the_first_name_from_the_signed_in_users_scope()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddOpenTelemetry().WithLogging(b => b.AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)), o => o.IncludeScopes = true);
            await using (var logs = services.BuildServiceProvider())
            {
                var logger = logs.GetRequiredService<ILogger<IdentityAttackTests>>();
                using (logger.BeginScope(new System.Collections.Generic.Dictionary<string, object?> { ["Email"] = "ada@example.com", ["FirstName"] = "Ada" }))
                {
#pragma warning disable CA1848, CA2254 // the test's own messages
                    logger.LogInformation("{AnalyticsEvent} {Email}", "invited", "grace@example.com");
#pragma warning restore CA1848, CA2254
                }
            }
            var e = Assert.Single(emulator.EventsOfType("invited"));
            Assert.Equal("grace@example.com", e.Email);
            Assert.NotEqual("Ada", e.Field("first_name")?.GetString());
        }
    }
}
