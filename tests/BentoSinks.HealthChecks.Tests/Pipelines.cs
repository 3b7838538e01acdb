using System;
using System.Linq;
using BentoSinks.Diagnostics;

namespace BentoSinks.HealthChecks.Tests
{
    /// <summary>The public view of the process's pipelines, as the conditions a fake clock is pumped until.</summary>
    internal static class Pipelines
    {
        public static BentoPipelineStatus Single(string name)
            => BentoDeliveryStatus.GetPipelines().Single(p => p.Name == name);

        public static Func<bool> Until(string name, Func<BentoPipelineStatus, bool> condition)
            => () => BentoDeliveryStatus.GetPipelines().Any(p => p.Name == name && condition(p));
    }
}
