using System;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Serilog;
using Serilog.Core;

namespace BentoSinks.HealthChecks.Tests
{
    /// <summary>
    /// The set-up the health tests share: a Serilog logger with the Bento sink pointed at the emulator on a fake clock, the
    /// signup events it writes, and the public view of the process's pipelines as the conditions a test waits for.
    /// </summary>
    internal static class Pipelines
    {
        /// <summary>The email of the signups.</summary>
        public const string Email = "ada@example.com";

        /// <summary>Where the health tests' fake clocks start.</summary>
        public static readonly DateTimeOffset Start = new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

        /// <summary>A logger whose only sink is Bento, pointed at <paramref name="emulator"/>, on <paramref name="time"/>.</summary>
        public static Logger NewSerilog(BentoEmulator emulator, FakeTimeProvider time, Action<Serilog.Sinks.Bento.BentoSinkOptions>? configure = null)
            => new LoggerConfiguration()
                .WriteTo.Bento(o =>
                {
                    EmulatorOptions.PointAt(o, emulator);
                    o.TimeProvider = time;
                    configure?.Invoke(o);
                })
                .CreateLogger();

        /// <summary>Writes <paramref name="count"/> <c>signup_completed</c> analytics events for <see cref="Email"/>.</summary>
        public static void Signup(Serilog.ILogger logger, int count = 1)
        {
            for (var i = 0; i < count; i++)
                logger.ForAnalytics("signup_completed").ForContext("Email", Email).Information("Signed up for {plan}", "pro");
        }

        public static BentoPipelineStatus Single(string name)
            => BentoDeliveryStatus.GetPipelines().Single(p => p.Name == name);

        public static Func<bool> Until(string name, Func<BentoPipelineStatus, bool> condition)
            => () => BentoDeliveryStatus.GetPipelines().Any(p => p.Name == name && condition(p));

        /// <summary>
        /// For a pipeline on the real clock (a TLS handshake, a real server): waits until the pipeline named
        /// <paramref name="name"/> meets <paramref name="condition"/>, looking again at each measurement of the
        /// <c>BentoSinks.Core</c> meter (a request taken in, a retry planned, an event counted), never by sleeping. False
        /// after <paramref name="timeout"/> (real time, 30 s by default), only the bound of a failing test.
        /// </summary>
        public static async Task<bool> WaitUntilAsync(string name, Func<BentoPipelineStatus, bool> condition, TimeSpan? timeout = null)
        {
            var done = Until(name, condition);
            using var changed = new SemaphoreSlim(0);
            using var listener = new MeterListener();
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "BentoSinks.Core") l.EnableMeasurementEvents(instrument);
            };
            listener.SetMeasurementEventCallback<long>((_, _, _, _) => changed.Release());
            listener.Start();
            var waited = Stopwatch.StartNew();
            var limit = timeout ?? TimeSpan.FromSeconds(30);
            while (!done())
            {
                var left = limit - waited.Elapsed;
                if (left <= TimeSpan.Zero || !await changed.WaitAsync(left)) return done();
            }
            return true;
        }
    }
}
