using System;
using System.Threading.Tasks;
using Bento.Emulator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serilog;

namespace BentoSinks.AspNetCore.Tests
{
    /// <summary><c>logger.BeginBentoEvent(type)</c> on a Serilog-backed <see cref="Microsoft.Extensions.Logging.ILogger"/> (<c>AddSerilog</c>, <c>WriteTo.Bento</c>).</summary>
    [Collection("Web")]
    public class SerilogBackedBentoEventTests
    {
        [Fact]
        public async Task On_a_Serilog_backed_ILogger_a_line_logged_by_background_work_after_its_BeginBentoEvent_scope_ended_is_not_a_business_event()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var serilog = new LoggerConfiguration()
                .WriteTo.Bento(o => { EmulatorOptions.Configure(o, emulator); })
                .CreateLogger();
            var services = new ServiceCollection();
            services.AddLogging(b => b.AddSerilog(serilog, dispose: true));
            await using (var sp = services.BuildServiceProvider())
            {
                await BentoSinks.Testing.LoggerScopePrograms.EventThenLateBackgroundLineAsync(sp.GetRequiredService<ILogger<SerilogBackedBentoEventTests>>());
            }
            var e = Assert.Single(emulator.Events);
            Assert.Equal("signup_completed", e.Type);
            Assert.Equal("ada@example.com", e.Email);
        }
    }
}
