using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Bento.Emulator;
using Microsoft.Extensions.Configuration;
using Serilog.Context;
using Serilog.Core;
using Serilog.Events;

namespace Serilog.Sinks.Bento.Tests
{
    [Collection("SelfLog")]
    public class PipelineBehaviourTests
    {
        [Fact]
        public async Task Anonymous_analytics_events_are_skipped_with_a_warning_that_holds_no_event_data()
        {
            using var selfLog = new SelfLogCapture();
            await using var f = await SerilogUnderTest.StartAsync();
            f.Logger.ForAnalytics("signup_completed").Information("Anonymous {card}", "4111-1111-1111-1111");
            f.Logger.ForAnalytics("signup_completed").ForContext("Email", "ada@example.com").Information("Known");
            var events = await f.FlushAsync();
            Assert.Equal("ada@example.com", Assert.Single(events).Email);
            Assert.Contains("dropped 1 event (no_email)", selfLog.Text);
            Assert.DoesNotContain("4111", selfLog.Text);
            Assert.DoesNotContain("ada@example.com", selfLog.Text);
        }

        [Fact]
        public async Task Ordinary_log_events_never_reach_Bento()
        {
            await using var f = await SerilogUnderTest.StartAsync();
            f.Logger.ForContext("Email", "ada@example.com").Information("Just a log line {n}", 1);
            f.Logger.ForContext("AnalyticsEvent", 42).ForContext("Email", "ada@example.com").Information("Marker is not a string");
            await f.FlushAsync();
            Assert.Empty(f.Emulator.Requests);
        }

        [Fact]
        public async Task Page_views_are_excluded_by_default_and_types_can_be_routed()
        {
            await using (var f = await SerilogUnderTest.StartAsync())
            {
                var log = f.Logger.ForContext("Email", "ada@example.com");
                log.ForAnalytics("$view").Information("page");
                log.ForAnalytics("signup_completed").Information("signup");
                Assert.Equal(new[] { "signup_completed" }, (await f.FlushAsync()).Select(e => e.Type).ToArray());
            }
            await using (var f = await SerilogUnderTest.StartAsync(o => { o.IncludedEventTypes.Add("$purchase"); o.IncludedEventTypes.Add("trial_started"); }))
            {
                var log = f.Logger.ForContext("Email", "ada@example.com");
                log.ForAnalytics("signup_completed").Information("signup");
                log.ForAnalytics("trial_started").Information("trial");
                Assert.Equal(new[] { "trial_started" }, (await f.FlushAsync()).Select(e => e.Type).ToArray());
            }
        }

        [Fact]
        public async Task Email_and_names_come_from_a_custom_enricher()
        {
            await using var f = await SerilogUnderTest.StartAsync(logger: c => c.Enrich.With(new SignedInUserEnricher()));
            f.Logger.ForAnalytics("trial_started").Information("Trial started");
            var e = Assert.Single(await f.FlushAsync());
            Assert.Equal("grace@example.com", e.Email);
            Assert.Equal("Grace", e.Field("first_name")!.Value.GetString());
        }

        [Fact]
        public async Task Configuration_from_appsettings_json_works()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var json = $@"{{
  ""Serilog"": {{
    ""Using"": [ ""Serilog.Sinks.Bento"" ],
    ""MinimumLevel"": ""Information"",
    ""Enrich"": [ ""FromLogContext"" ],
    ""WriteTo"": [ {{ ""Name"": ""Bento"", ""Args"": {{
        ""siteUuid"": ""{BentoEmulatorOptions.DefaultSiteUuid}"",
        ""publishableKey"": ""{BentoEmulatorOptions.DefaultPublishableKey}"",
        ""secretKey"": ""{BentoEmulatorOptions.DefaultSecretKey}"",
        ""endpoint"": ""{emulator.ApiBase}"",
        ""batchSizeLimit"": 500,
        ""period"": ""00:00:02"",
        ""queueLimit"": 5000 }} }} ]
  }}
}}";
            var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
            var logger = new LoggerConfiguration().ReadFrom.Configuration(configuration).CreateLogger();
            using (LogContext.PushProperty("Email", "ada@example.com"))
            {
                for (var i = 0; i < 1200; i++) logger.ForAnalytics("signup_completed").Information("n {n}", i);
            }
            await logger.DisposeAsync();
            Assert.Equal(1200, emulator.EventCount);
            Assert.Equal(new[] { 500, 500, 200 }, emulator.Requests.Select(r => r.EventCount).ToArray());
        }

        [Theory]
        [InlineData("\"siteUuid\": \"\", \"publishableKey\": \"p\", \"secretKey\": \"k\"", "siteUuid")]
        [InlineData("\"siteUuid\": \"s\", \"publishableKey\": \"p\", \"secretKey\": \"k\", \"batchSizeLimit\": 1001", "batchSizeLimit")]
        [InlineData("\"siteUuid\": \"s\", \"publishableKey\": \"p\", \"secretKey\": \"k\", \"endpoint\": \"http://bento.example.com/api/v1\"", "endpoint")]
        public void Invalid_appsettings_fail_with_the_argument_named(string args, string name)
        {
            var json = "{\"Serilog\":{\"Using\":[\"Serilog.Sinks.Bento\"],\"WriteTo\":[{\"Name\":\"Bento\",\"Args\":{" + args + "}}]}}";
            var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
            var ex = Record.Exception(() => new LoggerConfiguration().ReadFrom.Configuration(configuration).CreateLogger());
            while (ex is System.Reflection.TargetInvocationException { InnerException: { } inner }) ex = inner;
            var argument = Assert.IsAssignableFrom<ArgumentException>(ex);
            Assert.Equal(name, argument.ParamName);
            Assert.DoesNotContain("\"k\"", argument.Message);
        }

        [Fact]
        public void Invalid_code_configuration_fails_naming_the_argument()
        {
            var ex = Assert.Throws<ArgumentException>(() => new LoggerConfiguration().WriteTo.Bento("site", "pub", "  ").CreateLogger());
            Assert.Equal("secretKey", ex.ParamName);
            var ex2 = Assert.Throws<ArgumentException>(() => new LoggerConfiguration().WriteTo.Bento(o => { o.SiteUuid = "s"; o.PublishableKey = "p"; o.SecretKey = "k"; o.BatchSizeLimit = 0; }).CreateLogger());
            Assert.Equal("BatchSizeLimit", ex2.ParamName);
        }

        [Fact]
        public async Task CloseAndFlush_delivers_everything_queued()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            Log.Logger = new LoggerConfiguration().Enrich.FromLogContext()
                .WriteTo.Bento(o => EmulatorOptions.Configure(o, emulator))
                .CreateLogger();
            using (LogContext.PushProperty("Email", "ada@example.com"))
            {
                for (var i = 0; i < 5000; i++) Log.Logger.ForAnalytics("signup_completed").Information("n {n}", i);
            }
            await Log.CloseAndFlushAsync();
            Assert.Equal(5000, emulator.EventCount);

            Log.Logger = new LoggerConfiguration().WriteTo.Bento(o => EmulatorOptions.Configure(o, emulator)).CreateLogger();
            Log.Logger.ForAnalytics("sync_close").ForContext("Email", "ada@example.com").Information("x");
            Log.CloseAndFlush();
            Assert.Equal(5001, emulator.EventCount);
        }

        [Fact]
        public async Task Undelivered_events_reach_a_failure_listener()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            var listener = new CollectingListener();
            var logger = new LoggerConfiguration()
                .WriteTo.Fallible(wt => wt.Bento(o => { EmulatorOptions.Configure(o, emulator); o.SecretKey = "wrong"; }), listener)
                .CreateLogger();
            logger.ForAnalytics("signup_completed").ForContext("Email", "ada@example.com").Information("one");
            logger.ForAnalytics("signup_completed").Information("anonymous");
            await logger.DisposeAsync();
            Assert.Equal(2, listener.Events.Count);
            Assert.All(listener.Kinds, k => Assert.Equal(LoggingFailureKind.Final, k));
        }

        [Fact]
        public void Non_analytics_events_cost_no_allocation_on_the_caller_thread()
        {
            using var sink = new BentoSink(new BentoSinkOptions { SiteUuid = "s", PublishableKey = "p", SecretKey = "k", Endpoint = new Uri("http://127.0.0.1:9/api/v1") });
            var logEvent = new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Information, null,
                new MessageTemplate("x", Array.Empty<Serilog.Parsing.MessageTemplateToken>()), new[] { new LogEventProperty("Email", new ScalarValue("a@b.co")) });
            sink.Emit(logEvent);
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 10_000; i++) sink.Emit(logEvent);
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        [Fact]
        public async Task Two_Serilog_loggers_report_separate_metric_series()
        {
            var sent = new List<(string? Pipeline, long Value)>();
            using var listener = new MeterListener();
            listener.InstrumentPublished = (i, l) => { if (i.Meter.Name == "BentoSinks.Core") l.EnableMeasurementEvents(i); };
            listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                if (instrument.Name != "bento.events.sent") return;
                string? pipeline = null;
                foreach (var t in tags) if (t.Key == "bento.pipeline") pipeline = (string?)t.Value;
                lock (sent) sent.Add((pipeline, value));
            });
            listener.Start();

            await using var a = await SerilogUnderTest.StartAsync();
            await using var b = await SerilogUnderTest.StartAsync();
            a.Logger.ForAnalytics("signup_completed").ForContext("Email", "ada@example.com").Information("A");
            b.Logger.ForAnalytics("signup_completed").ForContext("Email", "grace@example.com").Information("B");
            b.Logger.ForAnalytics("trial_started").ForContext("Email", "grace@example.com").Information("B again");
            Assert.Single(await a.FlushAsync());
            Assert.Equal(2, (await b.FlushAsync()).Length);

            lock (sent)
            {
                var byPipeline = sent.GroupBy(m => m.Pipeline).ToDictionary(g => g.Key ?? "(none)", g => g.Sum(m => m.Value));
                Assert.Equal(2, byPipeline.Count);
                Assert.All(byPipeline.Keys, k => Assert.StartsWith("Serilog", k));
                Assert.Equal(new long[] { 1, 2 }, byPipeline.Values.OrderBy(v => v).ToArray());
            }
        }

        private sealed class SignedInUserEnricher : ILogEventEnricher
        {
            public void Enrich(LogEvent logEvent, ILogEventPropertyFactory factory)
            {
                logEvent.AddPropertyIfAbsent(factory.CreateProperty("Email", "grace@example.com"));
                logEvent.AddPropertyIfAbsent(factory.CreateProperty("FirstName", "Grace"));
            }
        }

        private sealed class CollectingListener : ILoggingFailureListener
        {
            public List<LogEvent> Events { get; } = new List<LogEvent>();
            public List<LoggingFailureKind> Kinds { get; } = new List<LoggingFailureKind>();

            public void OnLoggingFailed(object sender, LoggingFailureKind kind, string message, IReadOnlyCollection<LogEvent>? events, Exception? exception)
            {
                lock (Events)
                {
                    Kinds.Add(kind);
                    if (events != null) Events.AddRange(events);
                }
            }
        }
    }
}
