using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks;
using BentoSinks.WebApp;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;
using Serilog;

// BentoSinks web sample: an ASP.NET Core minimal API with JwtBearer sign-in whose business events reach Bento with the
// signed-in user's email and names, through Serilog and OpenTelemetry. Development without Bento:Endpoint starts the
// embedded emulator on 127.0.0.1 (no credentials needed).
//   dotnet run --project samples/BentoSinks.WebApp
//   TOKEN=$(curl -s "http://127.0.0.1:5088/dev/token?email=ada@example.com&firstName=Ada&lastName=Lovelace")
//   curl -X POST -H "Authorization: Bearer $TOKEN" http://127.0.0.1:5088/signup
var builder = WebApplication.CreateBuilder(args);

BentoEmulator? emulator = null;
if (builder.Environment.IsDevelopment() && string.IsNullOrEmpty(builder.Configuration["Bento:Endpoint"]))
{
    emulator = await BentoEmulator.StartAsync();
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Bento:Endpoint"] = emulator.ApiBase.ToString(),
        ["Bento:SiteUuid"] = emulator.Options.SiteUuid,
        ["Bento:PublishableKey"] = emulator.Options.PublishableKey,
        ["Bento:SecretKey"] = emulator.Options.SecretKey,
    });
    Console.WriteLine($"Bento: the embedded emulator at {emulator.ApiBase} (Development)");
}

// The Serilog sink's diagnostics (an event dropped for want of an email, a refused request); never an email or a key.
if (builder.Environment.IsDevelopment()) Serilog.Debugging.SelfLog.Enable(Console.Error);

var bento = builder.Configuration.GetSection("Bento");
var jwt = builder.Configuration.GetSection("Jwt");
var logs = builder.Configuration.GetValue("Sample:Logs", LoggingMode.Serilog);
var traces = builder.Configuration.GetValue("Sample:Traces", true);

// Logs: Serilog (Serilog.AspNetCore), OpenTelemetry, or both with writeToProviders (each event still arrives once).
// The logger is built here rather than as the static Log.Logger, so that several hosts in one process (the tests) each
// close their own.
Serilog.Core.Logger? serilog = null;
if (logs != LoggingMode.OpenTelemetry)
{
    var providers = logs == LoggingMode.SerilogAndOpenTelemetry ? new Serilog.Extensions.Logging.LoggerProviderCollection() : null;
    var configuration = new LoggerConfiguration()
        .ReadFrom.Configuration(builder.Configuration)
        .Enrich.FromLogContext()
        .WriteTo.Console()
        .WriteTo.Bento(o => bento.Bind(o));
    if (providers != null) configuration.WriteTo.Providers(providers); // = AddSerilog(..., writeToProviders: true)
    serilog = configuration.CreateLogger();
    builder.Services.AddSerilog(serilog, dispose: true, providers);
}

// First, so it stops last: what is queued is delivered inside the host's StopAsync.
builder.Services.AddHostedService(services => new DeliverOnStop(services, serilog));

// Traces: activity events need a recorded activity; the request's own activity is recorded only with
// AddAspNetCoreInstrumentation(), and the app's ActivitySource only when its name is added.
var openTelemetry = builder.Services.AddOpenTelemetry();
if (traces)
{
    openTelemetry.WithTracing(t => t
        .AddSource(Telemetry.SourceName)
        .AddAspNetCoreInstrumentation()
        .AddBentoExporter(o => bento.Bind(o)));
}
if (logs != LoggingMode.Serilog)
{
    openTelemetry.WithLogging(l => l.AddBentoExporter(o => bento.Bind(o)), o => o.IncludeScopes = true);
}

builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
{
    o.TokenValidationParameters = new TokenValidationParameters
    {
        ValidIssuer = jwt["Issuer"],
        ValidAudience = jwt["Audience"],
        IssuerSigningKey = SampleTokens.Key(jwt["SigningKey"] ?? ""),
    };
});
builder.Services.AddAuthorization();

var app = builder.Build();
app.UseAuthentication();
app.UseBentoIdentity(); // after UseAuthentication: the signed-in user identifies every analytics event of the request
app.UseAuthorization();

app.MapGet("/", () => "BentoSinks web sample: POST /signup, /trial, /purchase, /upgrade with a bearer token (Development: GET /dev/token?email=…)");

// Development only: a test-signed token, so that the sample can be tried with curl.
if (app.Environment.IsDevelopment())
{
    app.MapGet("/dev/token", (string email, string? firstName, string? lastName) =>
        SampleTokens.Create(jwt["SigningKey"] ?? "", jwt["Issuer"] ?? "", jwt["Audience"] ?? "", email, firstName ?? "", lastName ?? ""));
}

// Through ILogger<T>: Serilog or OpenTelemetry logs, as configured.
app.MapPost("/signup", (ILogger<Telemetry> logger) =>
{
    logger.SignupCompleted("signup_completed", "pro", 3);
    return Results.Ok();
});

// Through Serilog's own API (Log.Logger, or the Serilog.ILogger that AddSerilog registers).
app.MapPost("/upgrade", (Serilog.ILogger log) =>
{
    log.ForAnalytics("plan_upgraded").Information("Upgraded to {plan}", "team");
    return Results.Ok();
});

// Through OpenTelemetry traces: one event on the request's activity, one on a child activity.
app.MapPost("/trial", (HttpContext context) =>
{
    context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpActivityFeature>()?.Activity
        .AddEvent(new ActivityEvent("trial_requested", tags: new ActivityTagsCollection { ["analytics.event"] = true }));
    using (var child = Telemetry.Source.StartActivity("start trial"))
    {
        child?.AddEvent(new ActivityEvent("trial_started", tags: new ActivityTagsCollection { ["analytics.event"] = true, ["plan"] = "pro" }));
    }
    return Results.Ok();
});

// A $purchase through ILogger<T>, {@Purchase} in the template.
app.MapPost("/purchase", (ILogger<Telemetry> logger, string? order) =>
{
    logger.OrderPlaced("$purchase", new BentoPurchase(order ?? "order-" + Guid.NewGuid().ToString("N"), 1999, "USD"));
    return Results.Ok();
});

// Outside a request (a queue consumer, a hosted service): BentoIdentity.Push identifies the work's events. Awaited here
// so that a caller (the tests) knows it ran; a real consumer runs on its own.
app.MapPost("/background", async (ILogger<Telemetry> logger) =>
{
    await Task.Run(() =>
    {
        using (BentoIdentity.Push("batch@example.com", "Batch", "Job")) logger.SignupCompleted("import_finished", "pro", 1);
    });
    return Results.Accepted();
});

await app.RunAsync();
if (emulator != null)
{
    Console.WriteLine($"Bento: the emulator received {emulator.EventCount} event(s)");
    await emulator.DisposeAsync();
}
