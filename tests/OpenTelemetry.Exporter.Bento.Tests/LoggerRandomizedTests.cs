using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using OpenTelemetry.Logs;
using Xunit.Abstractions;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>The source-generated methods the randomized programs log through.</summary>
    internal static partial class RandomBusinessLog
    {
        // SYSLIB1015: analyticsEvent (the type) and pad are left out of the messages on purpose; they still reach the exporter.
#pragma warning disable SYSLIB1015
        [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Step {id} done")]
        public static partial void StepDone(this ILogger logger, string analyticsEvent, int id, string pad);

        [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Invited {Email} at step {id}")]
        public static partial void Invited(this ILogger logger, string analyticsEvent, string Email, int id, string pad);

        [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "Plain step {id}")]
        public static partial void PlainStep(this ILogger logger, int id, string pad);

        [LoggerMessage(EventId = 303, Level = LogLevel.Debug, Message = "Step {id} skipped")]
        public static partial void StepSkipped(this ILogger logger, string analyticsEvent, int id, string pad);
#pragma warning restore SYSLIB1015
    }

    /// <summary>
    /// Seeded random programs against the Microsoft.Extensions.Logging front end of the exporter, through its public API
    /// only: an <see cref="ILoggerFactory"/> with OpenTelemetry logging and <c>AddBentoExporter</c> pointed at the emulator on
    /// 127.0.0.1, sharing a fake clock with it. Each program mixes <c>[LoggerMessage]</c> methods with an
    /// <c>analyticsEvent</c> parameter, <c>BeginBentoEvent</c> scopes (nested, disposed), plain lines that must not become
    /// events, events with and without identity, details from a few bytes to just under, just over and far over
    /// <c>MaxRequestBytes</c>, every answer Bento documents (400, 401, 403, 408, 413, 422, 429, 5xx) with absurd
    /// <c>Retry-After</c> values, hangs shorter than, near and past the request timeout, aborted connections, HTML and unconfirmed 2xx,
    /// exceptions from the message handler, ForceFlush calls, and disposal. The checks after every step and at the end
    /// are written in <see cref="LoggerProgram"/>. A failure names its seed: <c>BENTO_LOGGER_RANDOM_SEED=seed</c> replays it,
    /// <c>BENTO_LOGGER_RANDOM_CASES</c> sets how many programs run.
    /// </summary>
    [Collection("Exporter")]
    public class LoggerRandomizedTests
    {
        /// <summary>Programs per run: about 30 s on a loaded 2-core machine; set BENTO_LOGGER_RANDOM_CASES for longer runs.</summary>
        private const int DefaultPrograms = 50;

        private readonly ITestOutputHelper _output;

        public LoggerRandomizedTests(ITestOutputHelper output) => _output = output;

        [Fact]
        public async Task Logger_business_events_of_any_size_and_any_answer_are_each_sent_once_or_counted_once()
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var stats = new LoggerProgram.Totals();
            var (cases, baseSeed) = await SeededRuns.RunAsync("BENTO_LOGGER_RANDOM", DefaultPrograms,
                (seed, trace) => new LoggerProgram(seed, trace, stats).RunAsync());
            _output.WriteLine($"{cases} programs from seed {baseSeed} in {watch.Elapsed.TotalSeconds:0.0} s: {stats}");
        }

        /// <summary>Seeds that found a bug, replayed on every run.</summary>
        [Theory]
        [InlineData(24390927)] // BeginBentoEvent scopes ended out of order: a later plain line became an event of the ended outer scope
        [InlineData(26531418)] // a template naming {pad} twice: two "pad" members in details, the event measured with both
        public Task Logger_programs_that_once_failed_keep_every_promise(int seed)
            => SeededRuns.RunOneAsync("BENTO_LOGGER_RANDOM", seed, (s, trace) => new LoggerProgram(s, trace, new LoggerProgram.Totals()).RunAsync());
    }
}
