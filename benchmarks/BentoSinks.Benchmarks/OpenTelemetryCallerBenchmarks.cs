using System;
using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Bento.Emulator;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Trace;

namespace BentoSinks.Benchmarks
{
    /// <summary>Suite 3: what starting and stopping an Activity costs the application's thread, per exporter.</summary>
    [MemoryDiagnoser]
    public class OpenTelemetryCallerBenchmarks
    {
        private static readonly ActivityTagsCollection OrdinaryTags = new ActivityTagsCollection { ["cache.key"] = "user:42" };
        private static readonly ActivityTagsCollection AnalyticsTags = new ActivityTagsCollection { ["analytics.event"] = true, ["plan"] = "pro" };

        private BentoEmulator _emulator = null!;
        private TracerProvider _provider = null!;
        private ActivitySource _source = null!;

        [Params("none", "bento", "otlp")]
        public string Exporter { get; set; } = "none";

        [GlobalSetup]
        public void Setup()
        {
            _emulator = Shared.StartEmulator();
            _source = new ActivitySource("bench." + Exporter);
            var builder = Sdk.CreateTracerProviderBuilder().AddSource(_source.Name).SetSampler(new AlwaysOnSampler());
            if (Exporter == "bento") builder.AddBentoExporter(o => Shared.Configure(o, _emulator));
            if (Exporter == "otlp")
                builder.AddOtlpExporter(o =>
                {
                    o.Endpoint = new Uri(_emulator.BaseAddress, "v1/traces");
                    o.Protocol = OtlpExportProtocol.HttpProtobuf;
                    o.ExportProcessorType = ExportProcessorType.Batch;
                });
            _provider = builder.Build()!;
        }

        [GlobalCleanup]
        public void Cleanup()
        {
            _provider.Dispose();
            _source.Dispose();
            _emulator.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        [Benchmark(Baseline = true)]
        public void Activity_NoEvent()
        {
            using var a = _source.StartActivity("request");
            a?.SetTag("user.email", "ada@example.com");
        }

        [Benchmark]
        public void Activity_OrdinaryEvent()
        {
            using var a = _source.StartActivity("request");
            a?.SetTag("user.email", "ada@example.com");
            a?.AddEvent(new ActivityEvent("cache_miss", default, OrdinaryTags));
        }

        [Benchmark]
        public void Activity_AnalyticsEvent()
        {
            using var a = _source.StartActivity("request");
            a?.SetTag("user.email", "ada@example.com");
            a?.AddEvent(new ActivityEvent("feature_used", default, AnalyticsTags));
        }
    }
}
