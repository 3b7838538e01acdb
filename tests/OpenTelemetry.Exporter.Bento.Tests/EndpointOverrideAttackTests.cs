using System;
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
    /// <c>emulator.UseForAllBentoPipelines()</c> (<see cref="BentoEndpointOverride"/>) ended in ways a test suite ends it:
    /// out of order, on another thread. Once ended, it redirects no pipeline built after.
    /// </summary>
    [Collection("Exporter")]
    public class EndpointOverrideAttackTests
    {
        /// <summary>Builds a log exporter configured (in code) for <paramref name="configured"/>, writes one event, and stops it.</summary>
        private static async Task LogOneEventAsync(BentoEmulator configured)
        {
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddOpenTelemetry().WithLogging(b => b.AddBentoExporter(o => EmulatorOptions.Configure(o, configured)));
            await using var sp = services.BuildServiceProvider();
            var logger = sp.GetRequiredService<ILogger<EndpointOverrideAttackTests>>();
            using (BentoIdentity.Push("ada@example.com"))
            using (logger.BeginBentoEvent("signup_completed"))
                logger.LogInformation("Signed up");
        }

        [Fact]
        public async Task Redirects_ended_out_of_order_redirect_no_pipeline_built_after_both_ended()
        {
            await using var first = await BentoEmulator.StartAsync();
            await using var second = await BentoEmulator.StartAsync();
            await using var configured = await BentoEmulator.StartAsync();
            var a = first.UseForAllBentoPipelines();
            var b = second.UseForAllBentoPipelines();
            a.Dispose(); // out of order: the second is still open
            b.Dispose();
            await LogOneEventAsync(configured);
            Assert.Empty(first.Events);
            Assert.Empty(second.Events);
            Assert.Equal("signup_completed", Assert.Single(configured.Events).Type);
            Assert.False(BentoEndpointOverride.IsActive);
        }

        [Fact]
        public async Task A_redirect_ended_on_another_thread_redirects_no_pipeline_built_after_on_the_flow_that_opened_it()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            await using var configured = await BentoEmulator.StartAsync();
            var redirect = emulator.UseForAllBentoPipelines();
            await Task.Run(() => redirect.Dispose()); // e.g. a fixture's DisposeAsync, a callback
            await LogOneEventAsync(configured);
            Assert.Empty(emulator.Events);
            Assert.Equal("signup_completed", Assert.Single(configured.Events).Type);
            Assert.False(BentoEndpointOverride.IsActive);
        }

        [Fact]
        public async Task While_an_inner_redirect_is_open_ending_the_outer_one_keeps_the_inner()
        {
            await using var first = await BentoEmulator.StartAsync();
            await using var second = await BentoEmulator.StartAsync();
            await using var configured = await BentoEmulator.StartAsync();
            var a = first.UseForAllBentoPipelines();
            using (second.UseForAllBentoPipelines())
            {
                a.Dispose();
                await LogOneEventAsync(configured);
            }
            Assert.Empty(first.Events);
            Assert.Empty(configured.Events);
            Assert.Equal("signup_completed", Assert.Single(second.Events).Type);
        }
    
        [Fact]
        public async Task Events_of_a_pipeline_whose_redirect_emulator_stopped_are_counted_not_lost_and_never_go_to_the_configured_endpoint()
        {
            await using var configured = await BentoEmulator.StartAsync();
            using var meters = new BentoMeterProbe("OpenTelemetry logs");
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddOpenTelemetry().WithLogging(b => b.AddBentoExporter(o =>
            {
                EmulatorOptions.Configure(o, configured);
                o.ShutdownTimeout = TimeSpan.FromSeconds(1);
            }));
            var sp = services.BuildServiceProvider();
            var emulator = await BentoEmulator.StartAsync();
            ILogger logger;
            using (emulator.UseForAllBentoPipelines())
                logger = sp.GetRequiredService<ILogger<EndpointOverrideAttackTests>>(); // the pipeline is built here, when first resolved
            await emulator.DisposeAsync(); // the test's emulator stops first; the app lives on
            using (BentoIdentity.Push("ada@example.com"))
            using (logger.BeginBentoEvent("signup_completed"))
                logger.LogInformation("Signed up");
            await sp.DisposeAsync();
            Assert.Empty(configured.Events);
            Assert.Equal(0, meters.Sent);
            Assert.Equal(1, meters.DroppedTotal);
        }
    
        [Fact]
        public async Task A_stopped_emulator_refuses_to_redirect_pipelines_to_its_dead_port()
        {
            var emulator = await BentoEmulator.StartAsync();
            await emulator.DisposeAsync();
            Assert.Throws<ObjectDisposedException>(() => emulator.UseForAllBentoPipelines());
            Assert.False(BentoEndpointOverride.IsActive);
        }
    }
}
