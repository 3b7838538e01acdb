using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Diagnostics.Tracing;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;
using Serilog;
using Serilog.Context;
using Serilog.Debugging;

// BentoSinks demo: an app that writes business events through Serilog and OpenTelemetry, delivered to Bento.
//   dotnet run --project samples/BentoSinks.Demo                       embedded emulator on 127.0.0.1 (no credentials needed)
//   BENTO_SITE_UUID=… BENTO_PUBLISHABLE_KEY=… BENTO_SECRET_KEY=… dotnet run --project samples/BentoSinks.Demo   the real Bento
//   dotnet run --project samples/BentoSinks.Demo -- --endpoint http://127.0.0.1:5080/api/v1   a running emulator
string? endpointArg = null;
var burst = 3000;
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--endpoint" && i + 1 < args.Length) endpointArg = args[++i];
    else if (args[i] == "--burst" && i + 1 < args.Length) burst = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
    else { Console.Error.WriteLine($"unknown argument {args[i]}; use --endpoint URL or --burst N"); return 2; }
}

var siteUuid = Environment.GetEnvironmentVariable("BENTO_SITE_UUID");
var publishableKey = Environment.GetEnvironmentVariable("BENTO_PUBLISHABLE_KEY");
var secretKey = Environment.GetEnvironmentVariable("BENTO_SECRET_KEY");
var haveCredentials = !string.IsNullOrEmpty(siteUuid) && !string.IsNullOrEmpty(publishableKey) && !string.IsNullOrEmpty(secretKey);

BentoEmulator? emulator = null;
Uri endpoint;
if (endpointArg != null)
{
    endpoint = new Uri(endpointArg);
    if (!haveCredentials) (siteUuid, publishableKey, secretKey) = (BentoEmulatorOptions.DefaultSiteUuid, BentoEmulatorOptions.DefaultPublishableKey, BentoEmulatorOptions.DefaultSecretKey);
    Console.WriteLine($"Sending to the emulator at {endpoint}.");
}
else if (haveCredentials)
{
    endpoint = BentoOptions.DefaultEndpoint;
    Console.WriteLine($"Sending to Bento ({endpoint}) for site {siteUuid}.");
}
else
{
    emulator = await BentoEmulator.StartAsync();
    endpoint = emulator.ApiBase;
    (siteUuid, publishableKey, secretKey) = (BentoEmulatorOptions.DefaultSiteUuid, BentoEmulatorOptions.DefaultPublishableKey, BentoEmulatorOptions.DefaultSecretKey);
    Console.WriteLine($"No Bento credentials (BENTO_SITE_UUID, BENTO_PUBLISHABLE_KEY, BENTO_SECRET_KEY): started the embedded Bento emulator at {endpoint}.");
}

void Configure(BentoOptions o)
{
    o.SiteUuid = siteUuid;
    o.PublishableKey = publishableKey;
    o.SecretKey = secretKey;
    o.Endpoint = endpoint;
}

// The pipelines' own counters, read the way an app would: from the BentoSinks.Core meter.
var metrics = new DemoMetrics();
// Their diagnostics: Serilog's SelfLog and the exporter's EventSource, to stderr.
SelfLog.Enable(line => Console.Error.WriteLine("[selflog] " + line));
using var exporterEvents = new ExporterEventsToConsole();

Log.Logger = new LoggerConfiguration()
    .Enrich.FromLogContext()
    .WriteTo.Logger(lc => lc.Filter.ByExcluding(e => e.Properties.ContainsKey("Burst"))
        .WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj} {Properties:j}{NewLine}"))
    .WriteTo.Bento(o => Configure(o))
    .CreateLogger();

var services = new ServiceCollection();
services.AddLogging();
services.AddOpenTelemetry()
    .WithTracing(t => t.AddSource("BentoSinks.Demo").AddBentoExporter(o => Configure(o)))
    .WithLogging(l => l.AddBentoExporter(o => Configure(o)), o => o.IncludeScopes = true);
var provider = services.BuildServiceProvider();
provider.GetRequiredService<TracerProvider>();
var logger = provider.GetRequiredService<ILoggerFactory>().CreateLogger("BentoSinks.Demo");
using var source = new ActivitySource("BentoSinks.Demo");

var users = new[]
{
    (First: "Ada", Last: "Lovelace", Email: "ada@example.com", Plan: "pro", Cents: 4900L),
    (First: "Grace", Last: "Hopper", Email: "grace@example.com", Plan: "team", Cents: 9900L),
    (First: "Alan", Last: "Turing", Email: "alan@example.com", Plan: "pro", Cents: 4900L),
    (First: "Katherine", Last: "Johnson", Email: "katherine@example.com", Plan: "enterprise", Cents: 49900L),
};
var emitted = 0;

Console.WriteLine();
Console.WriteLine("== Simulated users: signup (Serilog) -> trial started (OpenTelemetry trace) -> $purchase (OpenTelemetry logs)");
foreach (var (user, index) in users.Select((u, i) => (u, i)))
{
    // Request 1, Serilog: identity pushed once by "middleware", the call site only names the event.
    using (LogContext.PushProperty("Email", user.Email))
    using (LogContext.PushProperty("FirstName", user.First))
    using (LogContext.PushProperty("LastName", user.Last))
    {
        Log.Logger.ForAnalytics("signup_completed").Information("{FirstName} signed up for {plan}", user.First, user.Plan);
        emitted++;
    }

    // Request 2, OpenTelemetry trace: identity as activity tags (or baggage, for every other user).
    using (var activity = source.StartActivity("POST /trials"))
    {
        if (index % 2 == 0)
        {
            activity?.SetTag("user.email", user.Email);
            activity?.SetTag("user.first_name", user.First);
            activity?.SetTag("user.last_name", user.Last);
        }
        else
        {
            activity?.AddBaggage("user.email", user.Email);
        }
        activity?.AddEvent(new ActivityEvent("trial_started", tags: new ActivityTagsCollection { ["analytics.event"] = true, ["trial_days"] = 14, ["plan"] = user.Plan }));
        emitted++;
    }

    // Request 3, OpenTelemetry logs through ILogger: identity in a scope.
    using (logger.BeginScope(new Dictionary<string, object?> { ["Email"] = user.Email, ["FirstName"] = user.First, ["LastName"] = user.Last }))
    {
        logger.LogInformation("{AnalyticsEvent}: {Purchase} via {channel}", "$purchase", new BentoPurchase($"order-{1000 + index}", user.Cents, "USD"), "web");
        emitted++;
    }
}

Console.WriteLine();
Console.WriteLine("== An anonymous visitor (no email: skipped with a warning) and a page view (excluded by default)");
Log.Logger.ForAnalytics("signup_completed").Information("An anonymous visitor signed up from {campaign}", "spring-sale");
emitted++;
using (LogContext.PushProperty("Email", "ada@example.com"))
    Log.Logger.ForAnalytics("$view").Information("Viewed {path}", "/pricing");
emitted++;

Console.WriteLine();
Console.WriteLine($"== A burst of {burst:N0} feature_used events through Serilog: batches fill to 1,000");
var burstLog = Log.Logger.ForAnalytics("feature_used").ForContext("Burst", true);
for (var i = 0; i < burst; i++)
{
    var user = users[i % users.Length];
    using (LogContext.PushProperty("Email", user.Email))
        burstLog.Information("{feature} used ({n})", i % 3 == 0 ? "export" : "search", i);
    emitted++;
    if (i % 100 == 99 || i == burst - 1) DrawProgress(i + 1, burst);
}
Console.WriteLine();

Console.WriteLine();
Console.WriteLine("== Flushing: Log.CloseAndFlushAsync() and disposing the OpenTelemetry providers");
await Log.CloseAndFlushAsync();
await provider.DisposeAsync();

Console.WriteLine();
if (emulator != null)
{
    var events = emulator.Events;
    Console.WriteLine($"== What Bento received: {events.Count:N0} events in {emulator.Requests.Count(r => r.Status == 200)} requests");
    Console.WriteLine($"{"type",-18} {"email",-24} {"events",7}");
    foreach (var g in events.GroupBy(e => (e.Type, e.Email)).OrderBy(g => g.Key.Type).ThenBy(g => g.Key.Email))
        Console.WriteLine($"{g.Key.Type,-18} {g.Key.Email,-24} {g.Count(),7:N0}");
    var purchase = events.FirstOrDefault(e => e.Type == "$purchase");
    if (purchase != null) Console.WriteLine($"a $purchase as Bento sees it: {purchase.Json.GetRawText()}");
}

Console.WriteLine();
Console.WriteLine("== The pipelines' counters (meter BentoSinks.Core)");
Console.WriteLine($"requests: {metrics.Requests}   sent: {metrics.Sent:N0}   dropped: {(metrics.Dropped.IsEmpty ? "none" : string.Join(", ", metrics.Dropped.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}")))}");
var accounted = metrics.Sent + metrics.Dropped.Values.Sum();
var ok = accounted == emitted && (emulator is null || emulator.EventCount == metrics.Sent);
Console.WriteLine($"emitted {emitted:N0} analytics events; sent + dropped = {accounted:N0}: {(ok ? "everything is accounted for" : "MISMATCH")}");
if (emulator != null) await emulator.DisposeAsync();
return ok ? 0 : 1;

static void DrawProgress(int done, int total)
{
    const int width = 40;
    var filled = (int)((long)done * width / total);
    Console.Write($"\r[{new string('#', filled)}{new string('.', width - filled)}] {done,6:N0}/{total:N0}");
}

/// <summary>Sums the BentoSinks.Core meter's counters, as an app's metrics pipeline would.</summary>
internal sealed class DemoMetrics : IDisposable
{
    private readonly MeterListener _listener = new MeterListener();
    private long _sent;
    private long _requests;

    public DemoMetrics()
    {
        _listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "BentoSinks.Core") l.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            switch (instrument.Name)
            {
                case "bento.events.sent": System.Threading.Interlocked.Add(ref _sent, value); break;
                case "bento.requests": System.Threading.Interlocked.Increment(ref _requests); break;
                case "bento.events.dropped":
                    foreach (var tag in tags)
                        if (tag.Key == "reason") Dropped.AddOrUpdate((string)tag.Value!, value, (_, v) => v + value);
                    break;
            }
        });
        _listener.Start();
    }

    public long Sent => System.Threading.Interlocked.Read(ref _sent);
    public long Requests => System.Threading.Interlocked.Read(ref _requests);
    public ConcurrentDictionary<string, long> Dropped { get; } = new ConcurrentDictionary<string, long>();

    public void Dispose() => _listener.Dispose();
}

/// <summary>Writes the exporter's EventSource warnings to stderr.</summary>
internal sealed class ExporterEventsToConsole : EventListener
{
    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "OpenTelemetry-Exporter-Bento") EnableEvents(eventSource, EventLevel.Warning);
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
        => Console.Error.WriteLine("[otel-exporter] " + eventData.Payload?.FirstOrDefault());
}
