using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>
    /// In a host, the exporter's warnings and errors go to the host's <c>ILoggerFactory</c> under the category
    /// <c>BentoSinks</c>, without an EventSource listener; the OpenTelemetry logs exporter in the same host does not
    /// turn them into analytics events (no loop).
    /// </summary>
    [Collection("Exporter")]
    public class HostLogTests
    {
        [Fact]
        public async Task A_wrong_key_is_logged_under_BentoSinks_in_the_host_and_does_not_loop_through_the_logs_exporter()
        {
            const string wrongSecret = "sk-wrong-0123456789abcdef";
            await using var emulator = await BentoEmulator.StartAsync();
            var sourceName = "bento.tests." + Guid.NewGuid();
            var lines = new ConcurrentQueue<(string Category, LogLevel Level, string Message)>();
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(new CaptureProvider(lines));
            builder.Services.AddOpenTelemetry()
                .WithTracing(t => t.AddSource(sourceName).AddBentoExporter(o => { EmulatorOptions.Configure(o, emulator); o.SecretKey = wrongSecret; }))
                .WithLogging(l => l.AddBentoExporter(o => { EmulatorOptions.Configure(o, emulator); o.SecretKey = wrongSecret; }));
            using var host = builder.Build();
            await host.StartAsync();

            using (var source = new ActivitySource(sourceName))
            using (var a = source.StartActivity("request")!)
            {
                a.SetTag("user.email", "ada@example.com");
                a.AddEvent(new ActivityEvent("signup_completed", default, new ActivityTagsCollection { ["analytics.event"] = true }));
            }
            host.Services.GetRequiredService<ILogger<HostLogTests>>().LogInformation("{AnalyticsEvent} {Email}", "trial_started", "ada@example.com");
            await host.StopAsync();
            host.Services.GetRequiredService<TracerProvider>().ForceFlush();

            // The host log is written from the thread pool: wait for the line, not for a fixed time.
            System.Threading.SpinWait.SpinUntil(() => lines.Any(l => l.Category == "BentoSinks" && l.Message.Contains("401", StringComparison.Ordinal)), 20_000);
            var bento = lines.Where(l => l.Category == "BentoSinks").ToArray();
            Assert.Contains(bento, l => l.Level >= LogLevel.Warning && l.Message.Contains("401", StringComparison.Ordinal));
            Assert.All(bento, l =>
            {
                Assert.DoesNotContain(wrongSecret, l.Message, StringComparison.Ordinal);
                Assert.DoesNotContain("ada@example.com", l.Message, StringComparison.Ordinal);
            });
            Assert.True(bento.Length < 20, $"{bento.Length} BentoSinks lines: the diagnostics are rate-limited and must not feed back");
            Assert.Equal(0, emulator.EventCount);
            Assert.DoesNotContain(emulator.Requests, r => r.Body.Contains("BentoSinks", StringComparison.Ordinal));
        }

        private sealed class CaptureProvider : ILoggerProvider
        {
            private readonly ConcurrentQueue<(string, LogLevel, string)> _lines;
            public CaptureProvider(ConcurrentQueue<(string, LogLevel, string)> lines) => _lines = lines;
            public ILogger CreateLogger(string categoryName) => new CaptureLogger(categoryName, _lines);
            public void Dispose() { }
        }

        private sealed class CaptureLogger : ILogger
        {
            private readonly string _category;
            private readonly ConcurrentQueue<(string, LogLevel, string)> _lines;
            public CaptureLogger(string category, ConcurrentQueue<(string, LogLevel, string)> lines) { _category = category; _lines = lines; }
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
                => _lines.Enqueue((_category, logLevel, formatter(state, exception)));
        }
    }
}
