using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Text.Json;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Delivery;
using BentoSinks.Diagnostics;
using BentoSinks.Json;
using Microsoft.Extensions.Time.Testing;

namespace BentoSinks.Core.Tests
{
    /// <summary>A minimal event for driving the core pipeline directly.</summary>
    public sealed class TestEvent
    {
        public string Type { get; set; } = "test_event";
        public string Email { get; set; } = "ada@example.com";
        public DateTimeOffset? Date { get; set; }
        public Dictionary<string, object?>? Fields { get; set; }
        public Dictionary<string, object?>? Details { get; set; }
        public bool Invalid { get; set; }
        public bool Throw { get; set; }
    }

    internal sealed class TestFormatter : IBentoEventFormatter<TestEvent>
    {
        public bool TryWriteEvent(Utf8JsonWriter writer, TestEvent item, out string? invalidReason)
        {
            invalidReason = null;
            if (item.Throw) throw new InvalidOperationException("formatter failure");
            if (item.Invalid) { invalidReason = "test event marked invalid"; return false; }
            writer.WriteStartObject();
            writer.WritePropertyName(BentoJson.Type);
            BentoJson.WriteSafeString(writer, item.Type);
            writer.WritePropertyName(BentoJson.Email);
            BentoJson.WriteSafeString(writer, item.Email);
            if (item.Date is { } date) BentoJson.WriteDate(writer, BentoJson.Date, date);
            if (item.Fields != null) { writer.WritePropertyName(BentoJson.Fields); BentoJson.WriteValue(writer, item.Fields); }
            if (item.Details != null) { writer.WritePropertyName(BentoJson.Details); BentoJson.WriteValue(writer, item.Details); }
            writer.WriteEndObject();
            return true;
        }
    }

    internal sealed class ListDiagnostics : IBentoDiagnostics
    {
        public ConcurrentQueue<string> Lines { get; } = new ConcurrentQueue<string>();
        public void Warning(string message) => Lines.Enqueue("WARN " + message);
        public void Error(string message) => Lines.Enqueue("ERROR " + message);
        public string All => string.Join("\n", Lines);
    }

    internal sealed class Harness : IAsyncDisposable
    {
        private Harness(BentoEmulator emulator, BentoPipeline<TestEvent> pipeline, ListDiagnostics diagnostics, FakeTimeProvider? time)
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

        public static async Task<Harness> StartAsync(Action<BentoOptions>? configure = null, Action<BentoEmulatorOptions>? emulator = null, bool fakeTime = false)
        {
            var time = fakeTime ? new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero)) : null;
            var emulatorOptions = new BentoEmulatorOptions();
            if (time != null) emulatorOptions.TimeProvider = time;
            emulator?.Invoke(emulatorOptions);
            var server = await BentoEmulator.StartAsync(emulatorOptions);
            var options = new BentoOptions
            {
                SiteUuid = emulatorOptions.SiteUuid,
                PublishableKey = emulatorOptions.PublishableKey,
                SecretKey = emulatorOptions.SecretKey,
                Endpoint = server.ApiBase,
                Period = TimeSpan.FromMilliseconds(50),
                MaxRequestsPerMinute = 0,
            };
            if (time != null) options.TimeProvider = time;
            configure?.Invoke(options);
            var diagnostics = new ListDiagnostics();
            var settings = options.Validate();
            settings.WarningInterval = TimeSpan.Zero;
            var pipeline = new BentoPipeline<TestEvent>(settings, new TestFormatter(), diagnostics, "tests");
            return new Harness(server, pipeline, diagnostics, time);
        }

        public static TestEvent Numbered(int i, string type = "test_event")
            => new TestEvent { Type = type, Email = $"user{i % 97}@example.com", Details = new Dictionary<string, object?> { ["n"] = i } };

        /// <summary>With a fake clock: advance it in steps (letting real I/O run between steps) until <paramref name="done"/>.</summary>
        public async Task PumpUntil(Func<bool> done, TimeSpan step, int maxSteps = 10_000)
        {
            var reached = await Emulator.AdvanceClockUntilAsync(done, () => Time!.Advance(step), maxSteps, clientBusy: () => Counters.Requests > Counters.Answered);
            Assert.True(reached, "condition not reached while pumping the fake clock; " + Counters);
        }

        /// <summary>Waits in real time until <paramref name="done"/>.</summary>
        public static async Task Until(Func<bool> done, int timeoutMs = 20_000)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            while (!done() && sw.ElapsedMilliseconds < timeoutMs) await Task.Delay(5);
            Assert.True(done(), "condition not reached in time");
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
