using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using Bento.Emulator;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary>The sink in an app that also traces its HttpClient calls with OpenTelemetry.</summary>
    [Collection("SelfLog")] // the tracer provider listens process-wide: no other test's requests while it runs
    public class InstrumentationTests
    {
        [Theory]
        [InlineData(false)]
        [InlineData(true)] // an app's handler (a proxy, say) carries HttpClient's diagnostics, which the default one leaves out
        public async Task The_sinks_own_requests_are_not_traced_by_the_apps_HttpClient_instrumentation(bool appHandler)
        {
            var traced = new ConcurrentQueue<string>();
            using var handler = appHandler ? new HttpClientHandler() : null;
            await using var emulator = await BentoEmulator.StartAsync();
            using (Sdk.CreateTracerProviderBuilder().AddHttpClientInstrumentation().AddProcessor(new Collect(traced)).Build())
            {
                // The app's own call to the same server is traced: the instrumentation works here.
                using (var http = new HttpClient())
                    using (await http.GetAsync(new Uri(emulator.ApiBase + "/app-request"))) { }

                var logger = new LoggerConfiguration().WriteTo.Bento(o =>
                {
                    EmulatorOptions.Configure(o, emulator);
                    o.MessageHandler = handler;
                }).CreateLogger();
                logger.ForAnalytics("signup_completed").ForContext("Email", "ada@example.com").Information("Signed up");
                await logger.DisposeAsync();
                Assert.Equal(1, emulator.EventCount);
            }

            var spans = traced.ToArray();
            Assert.Contains(spans, s => s.Contains("/app-request"));
            Assert.DoesNotContain(spans, s => s.Contains("/batch/events"));
            Assert.False(emulator.Requests.Single().Headers.ContainsKey("traceparent"));
        }

        private sealed class Collect : BaseProcessor<Activity>
        {
            private readonly ConcurrentQueue<string> _spans;

            public Collect(ConcurrentQueue<string> spans) => _spans = spans;

            public override void OnEnd(Activity data)
                => _spans.Enqueue(data.Source.Name + " " + data.DisplayName + " " + string.Join(" ", data.TagObjects.Select(t => t.Key + "=" + t.Value)));
        }
    }
}
