using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Bento.Emulator;
using Serilog.Core;
using Serilog.Debugging;
using Serilog.Events;
using Serilog.Sinks.Bento;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary>An emulator and a logger whose only sink is Bento, pointed at it.</summary>
    internal sealed class SinkFixture : IAsyncDisposable
    {
        private SinkFixture(BentoEmulator emulator, Logger logger, ConcurrentQueue<LogEvent> seen)
        {
            Emulator = emulator;
            Logger = logger;
            Seen = seen;
        }

        public BentoEmulator Emulator { get; }
        public Logger Logger { get; }
        /// <summary>Every event the logger emitted, as a second sink saw it.</summary>
        public ConcurrentQueue<LogEvent> Seen { get; }

        public static async Task<SinkFixture> StartAsync(Action<BentoSinkOptions>? configure = null, Func<LoggerConfiguration, LoggerConfiguration>? logger = null)
        {
            var emulator = await BentoEmulator.StartAsync();
            var seen = new ConcurrentQueue<LogEvent>();
            var config = new LoggerConfiguration()
                .MinimumLevel.Verbose()
                .Enrich.FromLogContext()
                .WriteTo.Bento(o =>
                {
                    Configure(o, emulator);
                    configure?.Invoke(o);
                })
                .WriteTo.Sink(new DelegateSink(seen.Enqueue));
            if (logger != null) config = logger(config);
            return new SinkFixture(emulator, config.CreateLogger(), seen);
        }

        public static void Configure(BentoSinkOptions o, BentoEmulator emulator)
        {
            o.SiteUuid = BentoEmulatorOptions.DefaultSiteUuid;
            o.PublishableKey = BentoEmulatorOptions.DefaultPublishableKey;
            o.SecretKey = BentoEmulatorOptions.DefaultSecretKey;
            o.Endpoint = emulator.ApiBase;
            o.Period = TimeSpan.FromHours(1); // tests flush by disposing the logger
            o.MaxRequestsPerMinute = 0;
        }

        /// <summary>Disposes the logger (which flushes the sink) and returns the events Bento received.</summary>
        public async Task<ReceivedEvent[]> FlushAsync()
        {
            await Logger.DisposeAsync();
            return Emulator.Events.ToArray();
        }

        public async ValueTask DisposeAsync()
        {
            await Logger.DisposeAsync();
            await Emulator.DisposeAsync();
        }

        public static void AssertJsonEqual(string expected, string actual)
            => Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), JsonNode.Parse(actual)), $"expected {expected}\nactual   {actual}");

        private sealed class DelegateSink : ILogEventSink
        {
            private readonly Action<LogEvent> _action;
            public DelegateSink(Action<LogEvent> action) => _action = action;
            public void Emit(LogEvent logEvent) => _action(logEvent);
        }
    }

    /// <summary>Captures SelfLog output for the duration of a test (SelfLog is process-wide: tests using it share one collection).</summary>
    internal sealed class SelfLogCapture : IDisposable
    {
        private readonly ConcurrentQueue<string> _lines = new ConcurrentQueue<string>();
        public SelfLogCapture() => SelfLog.Enable(line => _lines.Enqueue(line));
        public string Text => string.Join("\n", _lines);
        public void Dispose() => SelfLog.Disable();
    }
}
