using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Delivery;
using BentoSinks.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace BentoSinks.Core.Tests
{
    /// <summary>The core pipeline of <see cref="TestEvent"/>s, pointed at an emulator; on a fake clock shared with it when asked.</summary>
    internal sealed class PipelineUnderTest : IAsyncDisposable
    {
        private PipelineUnderTest(BentoEmulator emulator, BentoPipeline<TestEvent> pipeline, ListDiagnostics diagnostics, FakeTimeProvider? time)
        {
            Emulator = emulator;
            Pipeline = pipeline;
            Diagnostics = diagnostics;
            Time = time;
        }

        public BentoEmulator Emulator { get; }
        public BentoPipeline<TestEvent> Pipeline { get; }
        public ListDiagnostics Diagnostics { get; }
        public FakeTimeProvider? Time { get; }
        public PipelineCounters Counters => Pipeline.Counters;

        public static async Task<PipelineUnderTest> StartAsync(Action<BentoOptions>? configure = null, Action<BentoEmulatorOptions>? emulator = null, bool fakeTime = false)
        {
            var time = fakeTime ? FakeClock.New() : null;
            var emulatorOptions = new BentoEmulatorOptions();
            if (time != null) emulatorOptions.TimeProvider = time;
            emulator?.Invoke(emulatorOptions);
            var server = await BentoEmulator.StartAsync(emulatorOptions);
            var options = new BentoOptions
            {
                Period = TimeSpan.FromMilliseconds(50),
                MaxRequestsPerMinute = 0,
            };
            EmulatorOptions.PointAt(options, server);
            if (time != null) options.TimeProvider = time;
            configure?.Invoke(options);
            var diagnostics = new ListDiagnostics();
            var settings = options.Validate();
            settings.WarningInterval = TimeSpan.Zero;
            var pipeline = new BentoPipeline<TestEvent>(settings, new TestFormatter(), diagnostics, "tests");
            return new PipelineUnderTest(server, pipeline, diagnostics, time);
        }

        public static TestEvent Numbered(int i, string type = "test_event")
            => new TestEvent { Type = type, Email = $"user{i % 97}@example.com", Details = new Dictionary<string, object?> { ["n"] = i } };

        /// <summary>With a fake clock: advance it in steps (letting real I/O run between steps) until <paramref name="done"/>.</summary>
        public Task PumpUntil(Func<bool> done, TimeSpan step, int maxSteps = 10_000)
            => Emulator.PumpUntilAsync(Time!, done, step, maxSteps, FakeClock.Busy(Counters), () => Counters.ToString());

        /// <summary>Waits in real time until <paramref name="done"/>.</summary>
        public static async Task Until(Func<bool> done, int timeoutMs = 20_000)
        {
            // The condition's last answer decides: a passing state (the loop parked) need not hold at a second look.
            var sw = System.Diagnostics.Stopwatch.StartNew();
            bool reached;
            while (!(reached = done()) && sw.ElapsedMilliseconds < timeoutMs) await Task.Delay(5);
            Assert.True(reached, "condition not reached in time");
        }

        public void AssertAccounted()
        {
            // The emulator records a batch just before it answers: let the pipeline count the answer.
            System.Threading.SpinWait.SpinUntil(() => Counters.InFlight == 0, 10_000);
            Assert.Equal(Counters.Offered, Counters.Sent + Counters.DroppedTotal);
        }

        public async ValueTask DisposeAsync()
        {
            await Pipeline.DisposeAsync();
            await Emulator.DisposeAsync();
        }
    }
}
