using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks;
using Serilog.Core;
using Serilog.Events;

namespace BentoSinks.Benchmarks
{
    internal static class Shared
    {
        /// <summary>
        /// Prints every Bento pipeline's counters (offered, sent, dropped by reason) into the benchmark's log, before
        /// disposal: whether the caller's cost was measured with the queue draining (events sent) or full (dropped).
        /// </summary>
        public static void PrintStatus(string suite)
        {
            foreach (var pipeline in BentoSinks.Diagnostics.BentoDeliveryStatus.GetPipelines())
                Console.WriteLine("// bento status (" + suite + "): " + pipeline);
        }

        public static BentoEmulator StartEmulator() => BentoEmulator.StartAsync(new BentoEmulatorOptions { RecordEvents = false }).GetAwaiter().GetResult();

        /// <summary>Our sink or exporter pointed at the emulator, with the client-side request budget lifted (peers have none).</summary>
        public static void Configure(BentoOptions o, BentoEmulator emulator) => Configure(o, emulator.ApiBase);

        public static void Configure(BentoOptions o, Uri apiBase)
        {
            o.SiteUuid = BentoEmulatorOptions.DefaultSiteUuid;
            o.PublishableKey = BentoEmulatorOptions.DefaultPublishableKey;
            o.SecretKey = BentoEmulatorOptions.DefaultSecretKey;
            o.Endpoint = apiBase;
            o.MaxRequestsPerMinute = 0;
            o.Period = TimeSpan.FromSeconds(1);
        }
    }

    /// <summary>Serilog 4's own batching with a target that does nothing: the peer for the caller-thread cost of queueing.</summary>
    internal sealed class NoopBatchedSink : IBatchedLogEventSink
    {
        public Task EmitBatchAsync(IReadOnlyCollection<LogEvent> batch) => Task.CompletedTask;

        public Task OnEmptyBatchAsync() => Task.CompletedTask;
    }
}
