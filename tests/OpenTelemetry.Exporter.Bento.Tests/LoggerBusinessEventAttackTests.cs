using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks;
using BentoSinks.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>
    /// The ILogger business-event path under misuse: <c>BeginBentoEvent</c> scopes that outlive their <c>using</c> in
    /// background work, scopes ended out of order, records whose state throws. Each record is delivered once as what it
    /// is, or counted.
    /// </summary>
    [Collection("Exporter")]
    public class LoggerBusinessEventAttackTests
    {
        private static ServiceProvider Logging(BentoEmulator emulator, bool includeScopes, Action<BentoExporterOptions>? configure = null)
        {
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddOpenTelemetry().WithLogging(
                b => b.AddBentoExporter(o => { EmulatorOptions.Configure(o, emulator); configure?.Invoke(o); }),
                o => o.IncludeScopes = includeScopes);
            return services.BuildServiceProvider();
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public async Task A_line_logged_by_background_work_after_its_BeginBentoEvent_scope_ended_is_not_a_business_event(bool includeScopes)
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var meters = new BentoMeterProbe("OpenTelemetry logs");
            await using (var sp = Logging(emulator, includeScopes))
            {
                var logger = sp.GetRequiredService<ILogger<LoggerBusinessEventAttackTests>>();
                using var identity = BentoIdentity.Push("ada@example.com");
                var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Task background;
                using (logger.BeginBentoEvent("signup_completed"))
                {
                    logger.LogInformation("Signed up for {plan}", "pro");
                    // Fire-and-forget work started inside the scope: it captures the flow, scope included.
                    background = Task.Run(async () =>
                    {
                        await release.Task;
                        logger.LogInformation("Welcome cache warmed with {rows} rows", 12);
                    });
                }
                release.SetResult();
                await background;
            }
            var e = Assert.Single(emulator.Events);
            Assert.Equal("signup_completed", e.Type);
            Assert.Equal("pro", e.Detail("plan")?.GetString());
            Assert.Equal(1, meters.Sent);
            Assert.Equal(0, meters.DroppedTotal);
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public async Task BeginBentoEvent_scopes_ended_out_of_order_leave_no_event_type_behind(bool includeScopes)
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var meters = new BentoMeterProbe("OpenTelemetry logs");
            await using (var sp = Logging(emulator, includeScopes))
            {
                var logger = sp.GetRequiredService<ILogger<LoggerBusinessEventAttackTests>>();
                using var identity = BentoIdentity.Push("ada@example.com");
                var outer = logger.BeginBentoEvent("plan_changed");
                var inner = logger.BeginBentoEvent("seat_added");
                logger.LogInformation("Seat {seat} added", 4);
                outer.Dispose(); // out of order
                logger.LogInformation("Still inside the seat scope: {seat}", 5);
                inner.Dispose();
                logger.LogInformation("An ordinary line after both scopes ended");
                await Task.Run(() => logger.LogInformation("An ordinary line from a task after both scopes ended"));
            }
            Assert.Equal(new[] { "seat_added", "seat_added" }, emulator.Events.Select(ev => ev.Type).ToArray());
            Assert.Equal(2, meters.Sent);
            Assert.Equal(0, meters.DroppedTotal);
        }

        [Fact]
        public async Task A_BeginBentoEvent_scope_disposed_on_another_thread_marks_no_later_line_of_the_flow_that_opened_it()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var meters = new BentoMeterProbe("OpenTelemetry logs");
            await using (var sp = Logging(emulator, includeScopes: false))
            {
                var logger = sp.GetRequiredService<ILogger<LoggerBusinessEventAttackTests>>();
                using var identity = BentoIdentity.Push("ada@example.com");
                var scope = logger.BeginBentoEvent("export_finished");
                logger.LogInformation("Exported {rows} rows", 12);
                await Task.Run(() => scope.Dispose()); // e.g. handed to a callback that ends it
                logger.LogInformation("An ordinary line after the scope ended");
            }
            Assert.Equal("export_finished", Assert.Single(emulator.Events).Type);
            Assert.Equal(1, meters.Sent);
        }
    }
}
