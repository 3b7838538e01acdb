using System;
using Bento.Emulator;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;

namespace BentoSinks.Benchmarks
{
    /// <summary>
    /// The caller's cost of an ILogger business event through the OpenTelemetry log exporter, by way of writing it, against
    /// a plain <c>LogInformation</c> of the same line (an ordinary record, which the exporter inspects and skips):
    /// the type in the template (<c>{AnalyticsEvent}</c>, the old way), a <c>[LoggerMessage]</c> method whose
    /// <c>analyticsEvent</c> parameter is left out of the template, and <c>BeginBentoEvent</c> around a
    /// <c>[LoggerMessage]</c> method or a <c>LogInformation</c>. The identity is pushed once in the setup (an async-local
    /// set by a synchronous method stays on the thread that runs the benchmark), so every event is queued, not dropped.
    /// </summary>
    [MemoryDiagnoser]
    public partial class LoggerBusinessEventBenchmarks
    {
        private BentoEmulator _emulator = null!;
        private ServiceProvider _services = null!;
        private ILogger _logger = null!;
        private IDisposable _identity = null!;

        [GlobalSetup]
        public void Setup()
        {
            _emulator = Shared.StartEmulator();
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddOpenTelemetry().WithLogging(l => l.AddBentoExporter(o => Shared.Configure(o, _emulator)), o => o.IncludeScopes = true);
            _services = services.BuildServiceProvider();
            _logger = _services.GetRequiredService<ILogger<LoggerBusinessEventBenchmarks>>();
            _identity = BentoIdentity.Push("ada@example.com", "Ada", "Lovelace");
        }

        [GlobalCleanup]
        public void Cleanup()
        {
            Shared.PrintStatus("LoggerBusinessEvent");
            _identity.Dispose();
            _services.Dispose();
            _emulator.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        [Benchmark(Baseline = true)]
        public void LogInformation_ordinary_line() => _logger.LogInformation("Signed up for {plan} with {seats} seats", "pro", 3);

        [Benchmark]
        public void LoggerMessage_ordinary_line() => Log.SignedUp(_logger, "pro", 3);

        [Benchmark]
        public void LogInformation_type_in_template() => _logger.LogInformation("{AnalyticsEvent}: signed up for {plan} with {seats} seats", "signup_completed", "pro", 3);

        [Benchmark]
        public void LoggerMessage_analyticsEvent_parameter() => Log.SignupCompleted(_logger, "signup_completed", "pro", 3);

        [Benchmark]
        public void BeginBentoEvent_LoggerMessage()
        {
            using (_logger.BeginBentoEvent("signup_completed")) Log.SignedUp(_logger, "pro", 3);
        }

        [Benchmark]
        public void BeginBentoEvent_LogInformation()
        {
            using (_logger.BeginBentoEvent("signup_completed")) _logger.LogInformation("Signed up for {plan} with {seats} seats", "pro", 3);
        }

        /// <summary>The scope alone, nothing written inside it: what opening and closing it costs.</summary>
        [Benchmark]
        public void BeginBentoEvent_alone()
        {
            using (_logger.BeginBentoEvent("signup_completed")) { }
        }

        /// <summary>An ordinary logging scope alone, for comparison with <see cref="BeginBentoEvent_alone"/>.</summary>
        [Benchmark]
        public void BeginScope_alone()
        {
            using (_logger.BeginScope("signup_completed")) { }
        }

        private static partial class Log
        {
            [LoggerMessage(Level = LogLevel.Information, Message = "Signed up for {plan} with {seats} seats")]
            public static partial void SignedUp(ILogger logger, string plan, int seats);

#pragma warning disable SYSLIB1015 // analyticsEvent is left out of the message on purpose
            [LoggerMessage(Level = LogLevel.Information, Message = "Signed up for {plan} with {seats} seats")]
            public static partial void SignupCompleted(ILogger logger, string analyticsEvent, string plan, int seats);
#pragma warning restore SYSLIB1015
        }
    }
}
