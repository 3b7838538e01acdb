using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net.Http;
using System.Text.Json;
using System.Threading.Tasks;
using BentoSinks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;
using Serilog;
using Serilog.Debugging;

// Native AOT sample: Serilog and the OpenTelemetry exporter (traces and logs) in an app compiled ahead of time.
// It takes its settings from BENTO_ENDPOINT, BENTO_SITE_UUID, BENTO_PUBLISHABLE_KEY and BENTO_SECRET_KEY (the lines
// `bento-emulator` prints), writes one business event of each kind, and, against an emulator on loopback, reads the
// emulator's inspection API back and exits 0 only when each arrived exactly once with the right type, user and details.
//   dotnet publish samples/BentoSinks.AotSample -c Release -r linux-x64 -o out && out/BentoSinks.AotSample
var endpointText = Environment.GetEnvironmentVariable("BENTO_ENDPOINT");
if (string.IsNullOrEmpty(endpointText) || string.IsNullOrEmpty(Environment.GetEnvironmentVariable("BENTO_SECRET_KEY")))
{
    Console.Error.WriteLine("Set BENTO_ENDPOINT, BENTO_SITE_UUID, BENTO_PUBLISHABLE_KEY and BENTO_SECRET_KEY (start bento-emulator: it prints them).");
    return 2;
}
var endpoint = new Uri(endpointText);
SelfLog.Enable(Console.Error);

// One run's events carry its id, so the check below counts this run's events only.
var run = Guid.NewGuid().ToString("N")[..12];
Console.WriteLine($"AOT sample (dynamic code {(System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported ? "supported: not a Native AOT build" : "unsupported: Native AOT")}), run {run}, sending to {endpoint}");

// Serilog: the keys from the environment.
var logger = new LoggerConfiguration().WriteTo.Bento().CreateLogger();
using (BentoIdentity.Push("ada@example.com", "Ada", "Lovelace"))
{
    logger.ForAnalytics("aot_signup").Information("Signed up for {plan} in run {run}", "pro", run);
    logger.ForPurchase(new BentoPurchase("order-" + run, 1999, "USD")).Information("Order placed");
}
await logger.DisposeAsync(); // delivers what is queued

// OpenTelemetry: traces and logs, as an app's service collection builds them.
var services = new ServiceCollection();
services.AddLogging();
services.AddOpenTelemetry()
    .WithTracing(t => t.AddSource("BentoSinks.AotSample").AddBentoExporter())
    .WithLogging(l => l.AddBentoExporter(), o => o.IncludeScopes = true);
using var source = new ActivitySource("BentoSinks.AotSample");
await using (var provider = services.BuildServiceProvider())
{
    _ = provider.GetRequiredService<TracerProvider>();
    using (var activity = source.StartActivity("start trial"))
    {
        activity?.SetTag("user.email", "grace@example.com");
        activity?.AddEvent(new ActivityEvent("aot_trial_started", tags: new ActivityTagsCollection { ["analytics.event"] = true, ["run"] = run }));
    }
    var log = provider.GetRequiredService<ILoggerFactory>().CreateLogger("BentoSinks.AotSample");
    using (log.BeginScope(new Dictionary<string, object?> { ["Email"] = "grace@example.com" }))
        log.LogInformation("{AnalyticsEvent}: run {run}", "aot_upgrade", run);
} // disposing the providers delivers what they hold

if (!endpoint.IsLoopback)
{
    Console.WriteLine("Sent (not an emulator on loopback: nothing to read back).");
    return 0;
}

// Read back what the emulator received: its inspection API, next to the endpoint's /api/v1.
var expected = new[] { ("aot_signup", "ada@example.com"), ("$purchase", "ada@example.com"), ("aot_trial_started", "grace@example.com"), ("aot_upgrade", "grace@example.com") };
using var http = new HttpClient { BaseAddress = new Uri(endpoint, "/") };
var found = new List<(string Type, string Email)>();
for (var attempt = 0; attempt < 50; attempt++)
{
    found.Clear();
    using var page = JsonDocument.Parse(await http.GetStringAsync(new Uri("_emulator/events?limit=1000", UriKind.Relative)));
    foreach (var e in page.RootElement.GetProperty("events").EnumerateArray())
        if (e.GetProperty("event").GetRawText().Contains(run, StringComparison.Ordinal))
            found.Add((e.GetProperty("type").GetString() ?? "", e.GetProperty("email").GetString() ?? ""));
    if (found.Count >= expected.Length) break;
    await Task.Delay(200); // the providers have delivered by now; this only covers the emulator's bookkeeping
}

var missing = expected.Where(x => found.Count(f => f == x) != 1).ToArray();
if (missing.Length > 0 || found.Count != expected.Length)
{
    Console.Error.WriteLine($"AOT sample: the emulator received [{string.Join(", ", found)}]; expected each of [{string.Join(", ", expected)}] once.");
    return 1;
}
Console.WriteLine($"AOT sample: {found.Count} events delivered and verified: {string.Join(", ", found.Select(f => f.Type + " for " + f.Email))}.");
return 0;
