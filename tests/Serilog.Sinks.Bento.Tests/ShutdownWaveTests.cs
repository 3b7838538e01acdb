using System;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary>
    /// A shutdown that runs out of time affects only the pipelines stopping in the same wave: loggers built afterwards
    /// (per job, per tenant, one host per test) on the same, healthy account deliver everything.
    /// </summary>
    [Collection("SelfLog")]
    public class ShutdownWaveTests
    {
        [Fact]
        public async Task After_one_logger_timed_out_at_shutdown_loggers_built_later_on_a_healthy_account_deliver_everything()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var metrics = new BentoMeterProbe("Serilog");
            emulator.EnqueueFaults(Fault.Delayed(TimeSpan.FromMinutes(10))); // the first request hangs
            var hung = new LoggerConfiguration().WriteTo.Bento(o => { EmulatorOptions.Configure(o, emulator); o.ShutdownTimeout = TimeSpan.FromSeconds(1); }).CreateLogger();
            Emit(hung, 0, 1);
            await hung.DisposeAsync(); // the flush sends; the request hangs; the shutdown runs out of time
            Assert.Equal(1, metrics.DroppedFor("shutdown"));

            for (var job = 0; job < 10; job++)
            {
                var logger = new LoggerConfiguration().WriteTo.Bento(o => EmulatorOptions.Configure(o, emulator)).CreateLogger();
                Emit(logger, 1000 + job * 100, 100);
                await logger.DisposeAsync();
            }
            Assert.True(emulator.EventCount >= 1000 && metrics.Sent == 1000 && metrics.DroppedFor("shutdown") == 1, $"delivered {emulator.EventCount}; {metrics.Describe()}");
        }

        private static void Emit(ILogger logger, int from, int count)
        {
            var log = logger.ForAnalytics("job_event").ForContext("Email", "ada@example.com");
            for (var i = from; i < from + count; i++) log.Information("Event {n}", i);
        }
    }
}
