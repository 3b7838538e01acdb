using System;
using System.Linq;
using System.Runtime.CompilerServices;
using BentoSinks.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace BentoSinks.Core.Tests
{
    /// <summary>The state behind BentoDeliveryStatus, driven directly on a fake clock (the health check's own tests go over HTTP).</summary>
    public class DeliveryHealthTests
    {
        private static BentoPipelineStatus Status(string name) => BentoDeliveryStatus.GetPipelines().Single(p => p.Name == name);

        [Fact]
        public void Drops_retries_and_refusals_are_noted_with_their_times_on_the_pipelines_clock()
        {
            var time = FakeClock.New();
            var counters = new PipelineCounters(time);
            var name = "health-" + Guid.NewGuid();
            counters.Health.Open(name);
            try
            {
                counters.AddDropped(DropReason.Excluded, 5);
                Assert.Null(Status(name).LastDropTime); // a choice, not a failure

                counters.AddDropped(DropReason.QueueFull, 1);
                time.Advance(TimeSpan.FromMilliseconds(500));
                counters.AddDropped(DropReason.QueueFull, 1); // within a second, same reason: the time noted stays
                Assert.Equal(FakeClock.Start, Status(name).LastDropTime);
                time.Advance(TimeSpan.FromSeconds(1));
                counters.AddDropped(DropReason.QueueFull, 1);
                Assert.Equal(FakeClock.Start.AddSeconds(1.5), Status(name).LastDropTime);
                counters.AddDropped(DropReason.NoEmail, 1); // another reason: noted at once
                Assert.Equal("no_email", Status(name).LastDropReason);

                counters.Health.Retrying();
                time.Advance(TimeSpan.FromSeconds(3));
                counters.Health.Retrying(); // the streak goes on: it began at the first retry
                Assert.Equal(FakeClock.Start.AddSeconds(1.5), Status(name).RetryingSince);
                counters.Health.Unauthorized(); // a definitive answer ends the streak
                var status = Status(name);
                Assert.False(status.IsRetrying);
                Assert.Equal(FakeClock.Start.AddSeconds(4.5), status.UnauthorizedSince);
                Assert.Equal(FakeClock.Start.AddSeconds(4.5), status.Time);
                Assert.Equal(5L, status.Dropped["excluded"]);
                Assert.Equal(3L, status.Dropped["queue_full"]);
                Assert.Equal(9L, status.DroppedTotal);
                Assert.Contains("; unauthorized since 2026-11-22T10:00:04.5000000+00:00", status.ToString(), StringComparison.Ordinal);

                counters.Health.Succeeded();
                Assert.False(Status(name).IsUnauthorized);
            }
            finally
            {
                counters.Health.Close();
            }
            Assert.DoesNotContain(BentoDeliveryStatus.GetPipelines(), p => p.Name == name);
        }

        [Fact]
        public void A_pipeline_never_disposed_and_no_longer_referenced_is_not_kept_listed()
        {
            var name = "health-" + Guid.NewGuid();
            OpenAndForget(name);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            Assert.DoesNotContain(BentoDeliveryStatus.GetPipelines(), p => p.Name == name);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void OpenAndForget(string name)
        {
            var counters = new PipelineCounters(FakeClock.New());
            counters.Health.Open(name);
            // Listed while alive: checked while this frame still holds it, since a collection made by a test running in
            // parallel may take it as soon as this returns (the check failed once after it returned).
            Assert.Contains(BentoDeliveryStatus.GetPipelines(), p => p.Name == name);
            GC.KeepAlive(counters);
        }
    }
}
