using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Threading.Tasks;
using BentoSinks.Testing;
using Serilog.Core;
using Serilog.Events;
using Xunit;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary>
    /// The sink's warnings and errors reach the app's own Serilog pipeline (<c>Log.Logger</c>, as a host sets it) under
    /// <c>SourceContext</c> <c>BentoSinks</c>, without SelfLog: a wrong key is visible on the app's console.
    /// </summary>
    [Collection("SelfLog")]
    public class HostLogTests
    {
        [Fact]
        public async Task A_wrong_key_is_reported_to_Log_Logger_as_BentoSinks_without_the_key_or_the_email()
        {
            var seen = new ConcurrentQueue<LogEvent>();
            var previous = Log.Logger;
            Log.Logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(new Capture(seen)).CreateLogger();
            try
            {
                const string wrongSecret = "sk-wrong-0123456789abcdef";
                await using var rig = await SerilogUnderTest.StartAsync(o => o.SecretKey = wrongSecret);
                using (Context.LogContext.PushProperty("Email", "ada@example.com"))
                    rig.Logger.ForAnalytics("signup_completed").Information("Signed up");
                await rig.FlushAsync();

                // The host log is written from the thread pool: wait for the line, not for a fixed time.
                System.Threading.SpinWait.SpinUntil(() => seen.Any(e => e.Properties.ContainsKey(Constants.SourceContextPropertyName) && e.RenderMessage().Contains("401", StringComparison.Ordinal)), 20_000);
                var bento = seen.Where(e => e.Properties.TryGetValue(Constants.SourceContextPropertyName, out var v) && v is ScalarValue { Value: "BentoSinks" }).ToArray();
                Assert.NotEmpty(bento);
                Assert.Contains(bento, e => e.Level >= LogEventLevel.Warning && e.RenderMessage().Contains("401", StringComparison.Ordinal));
                foreach (var e in bento)
                {
                    var text = e.RenderMessage();
                    Assert.DoesNotContain(wrongSecret, text, StringComparison.Ordinal);
                    Assert.DoesNotContain("ada@example.com", text, StringComparison.Ordinal);
                }
                Assert.Equal(0, rig.Emulator.EventCount);
            }
            finally
            {
                var capture = Log.Logger;
                Log.Logger = previous;
                (capture as IDisposable)?.Dispose();
            }
        }

        private sealed class Capture : Core.ILogEventSink
        {
            private readonly ConcurrentQueue<LogEvent> _seen;
            public Capture(ConcurrentQueue<LogEvent> seen) => _seen = seen;
            public void Emit(LogEvent logEvent) => _seen.Enqueue(logEvent);
        }
    }
}
