using System;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using BentoSinks.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace BentoSinks.HealthChecks.Tests
{
    /// <summary>The health check as an application runs it: registered with <c>AddHealthChecks().AddBentoHealthCheck()</c> and run by <see cref="HealthCheckService"/>.</summary>
    internal sealed class HealthProbe : IDisposable
    {
        private readonly ServiceProvider _services;
        private readonly HealthCheckService _health;

        public HealthProbe(Action<BentoHealthCheckOptions>? configure = null)
        {
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddHealthChecks().AddBentoHealthCheck(configure: configure);
            _services = services.BuildServiceProvider();
            _health = _services.GetRequiredService<HealthCheckService>();
        }

        public async Task<HealthReportEntry> CheckAsync()
        {
            var report = await _health.CheckHealthAsync();
            return report.Entries["bento"];
        }

        /// <summary>Everything a health endpoint could show: the status, the description and every data key and value.</summary>
        public static string Shown(HealthReportEntry entry)
        {
            var sb = new StringBuilder().Append(entry.Status).Append(' ').Append(entry.Description);
            foreach (var pair in entry.Data) sb.Append(' ').Append(pair.Key).Append('=').Append(pair.Value);
            return sb.ToString();
        }

        /// <summary>The data holds counts only.</summary>
        public static void AssertCountsOnly(HealthReportEntry entry)
        {
            Assert.All(entry.Data.Values, v => Assert.True(v is long || v is int, "data value " + v + " is not a count"));
            Assert.True(entry.Data.Keys.All(k => !k.Contains('@', StringComparison.Ordinal)));
        }

        public void Dispose() => _services.Dispose();
    }
}
