using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using Serilog.Core;
using Serilog.Events;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary>An emulator and a logger whose only sink is Bento, pointed at it, in real time; a second sink sees every event.</summary>
    internal sealed class SerilogUnderTest : IAsyncDisposable
    {
        private SerilogUnderTest(BentoEmulator emulator, Logger logger, ConcurrentQueue<LogEvent> seen)
        {
            Emulator = emulator;
            Logger = logger;
            Seen = seen;
        }

        public BentoEmulator Emulator { get; }
        public Logger Logger { get; }
        /// <summary>Every event the logger emitted, as a second sink saw it.</summary>
        public ConcurrentQueue<LogEvent> Seen { get; }

        public static async Task<SerilogUnderTest> StartAsync(Action<BentoSinkOptions>? configure = null, Func<LoggerConfiguration, LoggerConfiguration>? logger = null)
        {
            var emulator = await BentoEmulator.StartAsync();
            var seen = new ConcurrentQueue<LogEvent>();
            var config = new LoggerConfiguration()
                .MinimumLevel.Verbose()
                .Enrich.FromLogContext()
                .WriteTo.Bento(o =>
                {
                    EmulatorOptions.Configure(o, emulator); // tests flush by disposing the logger
                    configure?.Invoke(o);
                })
                .WriteTo.Sink(new DelegateSink(seen.Enqueue));
            if (logger != null) config = logger(config);
            return new SerilogUnderTest(emulator, config.CreateLogger(), seen);
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

        private sealed class DelegateSink : ILogEventSink
        {
            private readonly Action<LogEvent> _action;
            public DelegateSink(Action<LogEvent> action) => _action = action;
            public void Emit(LogEvent logEvent) => _action(logEvent);
        }
    }
}
