using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BentoSinks.Delivery;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace OpenTelemetry.Exporter.Bento
{
    /// <summary>
    /// When the host stops, flushes every Bento exporter it built, all at once, and opens their accounts' shutdown
    /// window (<see cref="ShutdownWindow"/>) with the host's <c>HostOptions.ShutdownTimeout</c> less a second (capped by
    /// each exporter's <c>ShutdownTimeout</c>). The providers' disposal, and a Serilog sink to the same account disposed
    /// right after the host, then end by that same deadline: with Bento down, the process stops within the host's
    /// shutdown timeout, not after one timeout per pipeline on top of it.
    /// </summary>
    internal sealed class HostStopFlush : IHostedService
    {
        private static readonly TimeSpan DefaultHostTimeout = TimeSpan.FromSeconds(30);
        private static readonly TimeSpan Margin = TimeSpan.FromSeconds(1);
        private readonly HostPipelines _pipelines;
        private readonly IServiceProvider _services;

        public HostStopFlush(HostPipelines pipelines, IServiceProvider services)
        {
            _pipelines = pipelines;
            _services = services;
        }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken)
        {
            var entries = _pipelines.Snapshot();
            if (entries.Length == 0) return Task.CompletedTask;
            var host = HostShutdownTimeout();
            // No host limit (infinite): each exporter's own ShutdownTimeout. A host limit within the margin: nothing to
            // share; the providers' disposal does its own flush.
            var budget = host == Timeout.InfiniteTimeSpan || host < TimeSpan.Zero ? TimeSpan.MaxValue : host - Margin;
            if (budget <= TimeSpan.Zero) return Task.CompletedTask;
            return Task.WhenAll(entries.Select(e => FlushWithinAsync(e, budget, cancellationToken)));
        }

        private static async Task FlushWithinAsync(HostPipelines.Entry entry, TimeSpan budget, CancellationToken hostStopping)
        {
            var timeout = entry.Settings.ShutdownTimeout < budget ? entry.Settings.ShutdownTimeout : budget;
            timeout = ShutdownWindow.Enter(entry.Account, entry.Settings.TimeProvider, timeout, out var window);
            var timedOut = false;
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(hostStopping);
                var flush = entry.Flush(cts.Token);
                var deadline = entry.Settings.TimeProvider.DelayAsync(timeout, cts.Token);
                await Task.WhenAny(flush, deadline).ConfigureAwait(false);
                timedOut = !flush.IsCompleted;
                cts.Cancel();
                await Task.WhenAll(Quiet(flush), Quiet(deadline)).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                BentoExporterEventSource.Log.Error("Bento: flushing at host stop failed (" + ex.GetType().Name + ").");
            }
            finally
            {
                window.Leave(timedOut);
            }
        }

        private static async Task Quiet(Task task)
        {
            try { await task.ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }

        /// <summary>
        /// <c>HostOptions.ShutdownTimeout</c>, read by name: <c>HostOptions</c> lives in Microsoft.Extensions.Hosting,
        /// which this package does not reference (only the abstractions). 30 s, the host's default, when it is not there.
        /// Native AOT: <c>IOptions&lt;HostOptions&gt;</c> is an instantiation over a reference type, whose shared code every
        /// AOT image has (and a host that registered it compiled it); the members read are kept by the attributes below.
        /// </summary>
#if NET8_0_OR_GREATER
        [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("AOT", "IL3050:RequiresDynamicCode",
            Justification = "IOptions<HostOptions> is instantiated over a reference type: its shared (canonical) code exists in every AOT image.")]
        [System.Diagnostics.CodeAnalysis.DynamicDependency(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicProperties, typeof(IOptions<>))]
        [System.Diagnostics.CodeAnalysis.DynamicDependency(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicProperties,
            "Microsoft.Extensions.Hosting.HostOptions", "Microsoft.Extensions.Hosting")]
#endif
        private TimeSpan HostShutdownTimeout()
        {
            try
            {
                var type = Type.GetType("Microsoft.Extensions.Hosting.HostOptions, Microsoft.Extensions.Hosting", throwOnError: false);
                if (type is null) return DefaultHostTimeout;
                var optionsType = typeof(IOptions<>).MakeGenericType(type);
                var options = _services.GetService(optionsType);
                var value = options is null ? null : optionsType.GetProperty("Value")?.GetValue(options);
                return value is null ? DefaultHostTimeout : type.GetProperty("ShutdownTimeout")?.GetValue(value) as TimeSpan? ?? DefaultHostTimeout;
            }
            catch (Exception)
            {
                return DefaultHostTimeout;
            }
        }
    }
}
