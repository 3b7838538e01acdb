using System;
using System.Diagnostics;
using BentoSinks;
using BentoSinks.ConfiguredApp;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Trace;
using Serilog;

// An app configured for production Bento in appsettings.json and in code. Its tests point it at an emulator with one
// line, emulator.UseForAllBentoPipelines(), without touching its configuration.
var builder = WebApplication.CreateBuilder(args);

// Logs (and ILogger<T>) through Serilog, the Bento sink from appsettings.json's Serilog:WriteTo. preserveStaticLogger:
// this host's logger is its own, not the static Log.Logger, so two hosts in one process (parallel tests) keep theirs.
builder.Services.AddSerilog((services, lc) => lc.ReadFrom.Configuration(builder.Configuration).Enrich.FromLogContext(), preserveStaticLogger: true);

// Activity events through the trace exporter: the Bento section, and the endpoint once more in code.
builder.Services.AddOpenTelemetry().WithTracing(t => t
    .AddSource(ConfiguredApp.SourceName)
    .SetSampler(new AlwaysOnSampler()) // no ASP.NET Core instrumentation: the request's own activity is never recorded
    .AddBentoExporter(o =>
    {
        builder.Configuration.GetSection("Bento").Bind(o);
        o.Endpoint = new Uri("https://bento.example.invalid/api/v1");
    }));

var app = builder.Build();
var source = new ActivitySource(ConfiguredApp.SourceName);

app.MapPost("/signup", (string email, ILogger<ConfiguredApp> logger) =>
{
    using (BentoIdentity.Push(email))
    using (logger.BeginBentoEvent("signup_completed"))
        logger.LogInformation("Signed up for {plan}", "pro");
});

app.MapPost("/trial", (string email) =>
{
    using var activity = source.StartActivity("start trial");
    activity?.SetTag("user.email", email);
    activity?.AddEvent(new ActivityEvent("trial_started", tags: new ActivityTagsCollection { ["analytics.event"] = true, ["days"] = 14 }));
});

app.Run();

namespace BentoSinks.ConfiguredApp
{
    /// <summary>Names the app for <c>WebApplicationFactory</c>, and its <see cref="ActivitySource"/>.</summary>
    public sealed class ConfiguredApp
    {
        /// <summary>The app's activity source.</summary>
        public const string SourceName = "BentoSinks.ConfiguredApp";
    }
}
