using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Bento.Emulator
{
    /// <summary>
    /// The Kestrel server on loopback and its routes: Bento's batch events route, the peers' routes, the stats route, the
    /// live page at <c>/</c> and the inspection API under <c>/_emulator/</c>.
    /// </summary>
    internal sealed class EmulatorHost : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private EmulatorHost(WebApplication app, Uri baseAddress)
        {
            _app = app;
            BaseAddress = baseAddress;
        }

        /// <summary>The server's root, e.g. <c>http://127.0.0.1:54321/</c>.</summary>
        public Uri BaseAddress { get; }

        /// <summary>Starts Kestrel on <see cref="BentoEmulatorOptions.Url"/> with the routes mapped.</summary>
        public static async Task<EmulatorHost> StartAsync(BentoEmulatorOptions options, BatchEventsEndpoint bento, PeerEndpoints peers,
            InspectionEndpoints inspection, Func<object> stats, CancellationToken cancellationToken)
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = Array.Empty<string>() });
            // No ambient configuration: appsettings.json in the working directory, ASPNETCORE_URLS, Kestrel__* and the
            // like must not move the listener off loopback. What remains is what the options say, and nothing else.
            builder.Configuration.Sources.Clear();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [WebHostDefaults.ServerUrlsKey] = options.Url });
            builder.Logging.ClearProviders();
            // An emulator embedded in a test or an app must leave Ctrl+C and SIGTERM to that process: no console lifetime.
            builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
            builder.WebHost.ConfigureKestrel(k =>
            {
                // Past the size limit a body is refused from its Content-Length, or while it is read; never buffered whole.
                k.Limits.MaxRequestBodySize = options.EffectiveMaxRequestBytes + 1;
                k.Limits.MaxRequestHeadersTotalSize = 64 * 1024;
            });
            // Stop promptly: the page's event streams end at ApplicationStopping; nothing else runs long.
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
            var app = builder.Build();
            var guard = new HostGuard(options);
            app.Use(next => context => guard.InvokeAsync(context, next));
            app.MapGet("/api/v1/fetch/tags", bento.HandleFetchTagsAsync);
            app.MapPost("/api/v1/batch/events", bento.HandleAsync);
            // Peers' ingestion routes, for side-by-side benchmarks on the same loopback server.
            app.MapPost("/ingest/clef", peers.HandleSeqAsync);
            app.MapPost("/api/events/raw", peers.HandleSeqAsync);
            app.MapPost("/v1/traces", peers.HandleOtlpAsync);
            app.MapPost("/v1/logs", peers.HandleOtlpAsync);
            // Counters for a client in another process (benchmarks run the emulator out of process).
            app.MapGet("/_emulator/stats", (HttpContext c) => c.Response.WriteAsJsonAsync(stats()));
            // For people: the live page and the inspection API it reads (documented in the README).
            var page = new EmulatorPage();
            app.MapGet("/", page.GetIndexAsync);
            app.MapGet("/_emulator/page/{name}", (HttpContext c, string name) => page.GetAssetAsync(c, name));
            app.MapGet("/_emulator/events", inspection.GetEventsAsync);
            app.MapGet("/_emulator/events/{id:long}", (HttpContext c, long id) => inspection.GetEventAsync(c, id));
            app.MapGet("/_emulator/requests", inspection.GetRequestsAsync);
            app.MapGet("/_emulator/summary", inspection.GetSummaryAsync);
            app.MapPost("/_emulator/reset", inspection.ResetAsync);
            app.MapGet("/_emulator/stream", inspection.StreamAsync);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new EmulatorHost(app, new Uri(address.EndsWith("/", StringComparison.Ordinal) ? address : address + "/"));
        }

        /// <summary>A host lifetime that waits for nothing and handles no signal: the embedding process keeps its own.</summary>
        private sealed class EmbeddedLifetime : IHostLifetime
        {
            public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

            public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        }

        /// <summary>Whether <see cref="DisposeAsync"/> has begun: the port no longer answers (and may be another server's next).</summary>
        public bool Stopping => System.Threading.Volatile.Read(ref _stopping) != 0;

        private int _stopping;

        /// <summary>Stops the server.</summary>
        public async ValueTask DisposeAsync()
        {
            System.Threading.Volatile.Write(ref _stopping, 1);
            await _app.StopAsync().ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }
}
