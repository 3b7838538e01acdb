using System;
using System.Diagnostics;
using System.Linq;
using System.Net.Http;
using System.Security.Claims;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Bento.Emulator;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;
using Serilog;
using ILogger = Microsoft.Extensions.Logging.ILogger;

namespace BentoSinks.AspNetCore.Tests
{
    /// <summary>
    /// An app whose requests start background work that copies their execution context: a job consumer started lazily by
    /// the first request that asks for it, a timer created inside a request and a <c>Task.Run</c> that outlives its request.
    /// Each piece of work writes one analytics event on every path (Serilog, an activity event, an OpenTelemetry log
    /// record) with a <c>job</c> detail naming it, so a test can tell who wrote what. Users sign in through
    /// <c>x-user</c> headers (email|first name), a stand-in for any authentication handler. Delivery: the emulator.
    /// </summary>
    internal sealed class BackgroundWorkApp : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly Serilog.Core.Logger _serilog;
        private readonly ActivitySource _source = new ActivitySource("bento.tests.background." + Guid.NewGuid());
        private readonly Channel<Job> _jobs = Channel.CreateUnbounded<Job>();
        private readonly object _startLock = new object();
        private readonly TaskCompletionSource<bool> _lateGate = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        private Task? _consumer;
        private Task? _late;
        private Timer? _timer;
        private int _jobsDone;
        private readonly TaskCompletionSource<bool> _tick = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool _disposed;

        private sealed record Job(string Name, BentoIdentity? Owner);

        /// <param name="carryIdentity">
        /// The recipe for carrying a user into background work on purpose: the job captures <see cref="BentoIdentity.Current"/>
        /// when it is enqueued, and the consumer pushes it (null: nobody) around the job's work. False: the naive consumer.
        /// </param>
        private BackgroundWorkApp(BentoEmulator emulator, bool carryIdentity, bool kestrel)
        {
            _serilog = new LoggerConfiguration().WriteTo.Bento(o => EmulatorOptions.Configure(o, emulator)).CreateLogger();
            var builder = WebApplication.CreateBuilder();
            if (kestrel) builder.WebHost.UseUrls("http://127.0.0.1:0");
            else builder.WebHost.UseTestServer();
            builder.Logging.ClearProviders();
            builder.Services.AddOpenTelemetry()
                .WithTracing(t => t.AddSource(_source.Name).AddAspNetCoreInstrumentation().AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)))
                .WithLogging(l => l.AddBentoExporter(o => EmulatorOptions.Configure(o, emulator)));
            _app = builder.Build();
            _app.Use((context, next) =>
            {
                var user = context.Request.Headers["x-user"].ToString();
                if (user.Length > 0)
                {
                    var parts = user.Split('|');
                    context.User = new ClaimsPrincipal(new ClaimsIdentity(new[] { new Claim("email", parts[0]), new Claim("given_name", parts[1]) }, "test"));
                }
                return next(context);
            });
            _app.UseBentoIdentity();
            var logger = _app.Services.GetRequiredService<ILogger<BackgroundWorkApp>>();

            // Ada's request starts the background work (lazily: the first request that needs it, in its own flow).
            _app.MapPost("/start", (HttpContext context) =>
            {
                Emit(logger, "request", context.Request.Query["job"].ToString(), context);
                lock (_startLock)
                {
                    _consumer ??= Task.Run(() => ConsumeAsync(logger, carryIdentity));
                    _timer ??= new Timer(_ => { Emit(logger, "timer", "timer", null); _tick.TrySetResult(true); }, null, Timeout.Infinite, Timeout.Infinite);
                    _late ??= Task.Run(async () => { await _lateGate.Task.ConfigureAwait(false); Emit(logger, "late_task", "late", null); });
                }
                return Results.Ok();
            });
            _app.MapPost("/enqueue", (HttpContext context) =>
            {
                string job = context.Request.Query["job"]!;
                Emit(logger, "request", job, context);
                _jobs.Writer.TryWrite(new Job(job, carryIdentity ? BentoIdentity.Current : null));
                return Results.Ok();
            });
            // Response.OnCompleted runs after the identity's scope ended: every path agrees that it has no identity.
            _app.MapPost("/completed", (HttpContext context) =>
            {
                Emit(logger, "request", "completed", context);
                context.Response.OnCompleted(() =>
                {
                    Emit(logger, "on_completed", "completed", context);
                    OnCompletedRan.TrySetResult(true);
                    return Task.CompletedTask;
                });
                return Results.Ok();
            });
        }

        public TaskCompletionSource<bool> OnCompletedRan { get; } = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        public static async Task<BackgroundWorkApp> StartAsync(BentoEmulator emulator, bool carryIdentity, bool kestrel = false)
        {
            var app = new BackgroundWorkApp(emulator, carryIdentity, kestrel);
            await app._app.StartAsync();
            return app;
        }

        public HttpClient Client(string? email = null, string? firstName = null)
        {
            var client = _app.Services.GetService<Microsoft.AspNetCore.Hosting.Server.IServer>() is TestServer server
                ? server.CreateClient()
                : new HttpClient { BaseAddress = new Uri(_app.Urls.First()) };
            if (email != null) client.DefaultRequestHeaders.Add("x-user", email + "|" + firstName);
            return client;
        }

        public static async Task PostAsync(HttpClient client, string path)
        {
            using var response = await client.PostAsync(new Uri(path, UriKind.Relative), content: null);
            Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode}");
        }

        /// <summary>Runs the work the requests left behind, after they ended: the timer fires and the late task goes on.</summary>
        public async Task RunLeftoverWorkAsync(int jobs)
        {
            _timer!.Change(0, Timeout.Infinite);
            _lateGate.TrySetResult(true);
            await _tick.Task;
            await _late!;
            _jobs.Writer.TryComplete();
            await _consumer!;
            Assert.Equal(jobs, Volatile.Read(ref _jobsDone));
        }

        private async Task ConsumeAsync(ILogger logger, bool carryIdentity)
        {
            await foreach (var job in _jobs.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                // The recipe: the identity captured with the job, pushed where the job runs (null: nobody).
                using (carryIdentity ? BentoIdentity.Push(job.Owner) : null)
                {
                    await Task.Yield();
                    Emit(logger, "export_finished", job.Name, null);
                }
                Interlocked.Increment(ref _jobsDone);
            }
        }

        /// <summary>One analytics event on each path: <c>{type}_serilog</c>, <c>{type}_activity</c>, <c>{type}_log</c>.</summary>
        private void Emit(ILogger logger, string type, string? job, HttpContext? request)
        {
            _serilog.ForAnalytics(type + "_serilog").Information("{job}", job);
#pragma warning disable CA1848, CA2254 // the test's own messages
            logger.LogInformation("{AnalyticsEvent} {job}", type + "_log", job);
#pragma warning restore CA1848, CA2254
            var activityEvent = new ActivityEvent(type + "_activity", tags: new ActivityTagsCollection { ["analytics.event"] = true, ["job"] = job });
            // In a request: on the request's own activity (it ends after the middleware returned); elsewhere on a new activity.
            var requestActivity = request?.Features.Get<IHttpActivityFeature>()?.Activity;
            if (requestActivity != null)
            {
                requestActivity.AddEvent(activityEvent);
                return;
            }
            using var activity = _source.StartActivity(type);
            activity?.AddEvent(activityEvent);
        }

        /// <summary>Stops the app and the Serilog logger: everything queued is delivered.</summary>
        public async ValueTask DisposeAsync()
        {
            if (_disposed) return;
            _disposed = true;
            _timer?.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
            await _serilog.DisposeAsync();
            _source.Dispose();
        }
    }
}
