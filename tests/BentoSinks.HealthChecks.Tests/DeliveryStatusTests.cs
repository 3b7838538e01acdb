using System;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Serilog;

namespace BentoSinks.HealthChecks.Tests
{
    /// <summary>The registry behind <see cref="BentoDeliveryStatus"/>: pipelines come and go with their loggers and providers.</summary>
    [Collection("SelfLog")]
    public class DeliveryStatusTests
    {
        [Fact]
        public async Task Thousands_of_loggers_built_and_disposed_leave_no_pipeline_behind()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var before = BentoDeliveryStatus.GetPipelines().Count;
            for (var i = 0; i < 2_000; i++)
            {
                var logger = new LoggerConfiguration().WriteTo.Bento(o => EmulatorOptions.Configure(o, emulator)).CreateLogger();
                if (i % 500 == 0) Assert.Equal(before + 1, BentoDeliveryStatus.GetPipelines().Count);
                logger.Dispose();
            }
            Assert.Equal(before, BentoDeliveryStatus.GetPipelines().Count);

            // Many alive at once: each listed once, under its own name; all gone once disposed.
            var loggers = Enumerable.Range(0, 50).Select(_ => new LoggerConfiguration().WriteTo.Bento(o => EmulatorOptions.Configure(o, emulator)).CreateLogger()).ToArray();
            var names = BentoDeliveryStatus.GetPipelines().Select(p => p.Name).ToArray();
            Assert.Equal(before + 50, names.Length);
            Assert.Equal(names.Length, names.Distinct().Count());
            foreach (var logger in loggers.Reverse()) logger.Dispose();
            Assert.Equal(before, BentoDeliveryStatus.GetPipelines().Count);
        }

        [Fact]
        public async Task With_no_pipeline_the_check_is_Degraded_by_default_or_as_configured()
        {
            Assert.Empty(BentoDeliveryStatus.GetPipelines());
            using (var probe = new HealthProbe())
            {
                var entry = await probe.CheckAsync();
                Assert.Equal(HealthStatus.Degraded, entry.Status);
                Assert.Equal("No Bento pipeline is alive in this process.", entry.Description);
                Assert.Equal(0, entry.Data["pipelines"]);
            }
            using (var probe = new HealthProbe(o => o.NoPipelineStatus = HealthStatus.Healthy))
                Assert.Equal(HealthStatus.Healthy, (await probe.CheckAsync()).Status);

            // A filter that keeps no live pipeline is the same case.
            await using var emulator = await BentoEmulator.StartAsync();
            await using var logger = new LoggerConfiguration().WriteTo.Bento(o => EmulatorOptions.Configure(o, emulator)).CreateLogger();
            using (var probe = new HealthProbe(o => o.PipelineFilter = name => name.StartsWith("OpenTelemetry", StringComparison.Ordinal)))
                Assert.Equal(HealthStatus.Degraded, (await probe.CheckAsync()).Status);
        }

        [Fact]
        public void A_negative_drop_window_is_refused_when_the_check_is_added()
        {
            var services = new ServiceCollection();
            var ex = Assert.Throws<ArgumentException>(() =>
                services.AddHealthChecks()
                    .AddBentoHealthCheck(configure: o => o.DropWindow = TimeSpan.FromSeconds(-1)));
            Assert.Contains("DropWindow", ex.Message, StringComparison.Ordinal);
        }
    }
}
