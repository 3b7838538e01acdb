using System;
using System.Globalization;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks;
using Serilog.Core;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary>
    /// The loggers the durable tests build on a <see cref="DurableDirectory"/> (one that cannot reach Bento, one that
    /// delivers to an emulator) and the events they log; a test file imports them with <c>using static</c>.
    /// </summary>
    internal static class DurableLoggers
    {
        /// <summary>
        /// A logger whose every request fails at once (<see cref="DurableDirectory.Unreachable"/>), disposed without
        /// waiting (a deploy that outlasts the shutdown timeout): what it logs stays in <paramref name="directory"/>.
        /// </summary>
        public static Logger Unreachable(string directory, Action<BentoSinkOptions>? configure = null)
            => new LoggerConfiguration().WriteTo.Bento(o =>
            {
                o.SiteUuid = BentoEmulatorOptions.DefaultSiteUuid;
                o.PublishableKey = BentoEmulatorOptions.DefaultPublishableKey;
                o.SecretKey = BentoEmulatorOptions.DefaultSecretKey;
                o.Endpoint = new Uri(DurableDirectory.Unreachable);
                o.MaxRequestsPerMinute = 0;
                o.Period = TimeSpan.FromMilliseconds(50);
                o.ShutdownTimeout = TimeSpan.Zero;
                o.BufferDirectory = directory;
                configure?.Invoke(o);
            }).CreateLogger();

        /// <summary>A logger on <paramref name="directory"/> that delivers to <paramref name="emulator"/>.</summary>
        public static Logger Delivering(BentoEmulator emulator, string directory, Action<BentoSinkOptions>? configure = null)
            => new LoggerConfiguration().WriteTo.Bento(o =>
            {
                EmulatorOptions.Configure(o, emulator);
                o.BufferDirectory = directory;
                configure?.Invoke(o);
            }).CreateLogger();

        /// <summary>
        /// The next process on <paramref name="directory"/>: a logger delivering to an emulator of its own, disposed at once
        /// (it sends what earlier processes left). Returns how many events the emulator got, and the meter's account.
        /// </summary>
        public static async Task<(int Delivered, string Metrics)> NextProcessAsync(string directory)
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var metrics = new BentoMeterProbe("Serilog");
            var logger = Delivering(emulator, directory);
            await logger.DisposeAsync();
            return (emulator.EventCount, metrics.Describe());
        }

        /// <summary>How many events a disposal reported left in the buffer directory (its SelfLog line); 0 when it reported none.</summary>
        public static long ReportedDeferred(SelfLogCapture selfLog)
        {
            var match = Regex.Match(selfLog.Text, @"(\d+) undelivered events stay in the buffer directory");
            return match.Success ? long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        }

        /// <summary>Logs <paramref name="count"/> <c>durable</c> analytics events numbered from <paramref name="from"/> (<c>details.n</c>), with a <c>blob</c> when given.</summary>
        public static void Emit(ILogger logger, int from, int count, string? blob = null)
        {
            var log = logger.ForAnalytics("durable").ForContext("Email", "ada@example.com");
            for (var i = from; i < from + count; i++)
            {
                if (blob is null) log.Information("Event {n}", i);
                else log.Information("Event {n} {blob}", i, blob);
            }
        }
    }
}
