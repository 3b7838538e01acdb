using System;
using System.Threading.Tasks;
using Bento.Emulator;
using Serilog;

namespace BentoSinks.AspNetCore.Tests
{
    /// <summary>
    /// Serilog's two-stage setup (<c>CreateBootstrapLogger()</c> with the Bento sink, then <c>AddSerilog(...)</c>): the
    /// reloadable logger disposes the bootstrap sink while it holds its own lock. The sink's diagnostics go to
    /// <c>Log.Logger</c> (that same logger); written from the delivery loop they would wait on that lock while the lock's
    /// holder waits on the loop. They are written from the thread pool instead.
    /// </summary>
    [Collection("Web")]
    public class BootstrapLoggerTests
    {
        [Fact]
        public async Task Reloading_a_bootstrap_logger_whose_Bento_sink_reports_a_401_does_not_deadlock()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var previous = Log.Logger;
            try
            {
                var bootstrap = new LoggerConfiguration()
                    .WriteTo.Bento(o =>
                    {
                        EmulatorOptions.Configure(o, emulator);
                        o.SecretKey = "sk-wrong-0123456789abcdef"; // a 401: the loop reports it while the sink is disposed
                        o.ShutdownTimeout = TimeSpan.FromSeconds(3);
                        o.Period = TimeSpan.FromMinutes(1);
                    })
                    .CreateBootstrapLogger();
                Log.Logger = bootstrap;
                bootstrap.ForContext("Email", "ada@example.com").ForAnalytics("signup_completed").Information("bootstrap event");

                var reload = Task.Run(() => bootstrap.Reload(lc => lc.MinimumLevel.Information()));
                // A deadlock never ends: wait for the reload itself, bounded (60 s is only the bound of this test).
                try
                {
                    await reload.WaitAsync(TimeSpan.FromSeconds(60));
                }
                catch (TimeoutException)
                {
                    Assert.Fail("ReloadableLogger.Reload never returned: the sink's diagnostics blocked on the logger being reloaded");
                }
                Assert.Equal(1, emulator.RequestCount); // the 401 itself: the loop ran and reported
            }
            finally
            {
                Log.Logger = previous;
            }
        }
    }
}
