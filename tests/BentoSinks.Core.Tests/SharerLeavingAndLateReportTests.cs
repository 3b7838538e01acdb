using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using BentoSinks.Delivery;
using BentoSinks.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace BentoSinks.Core.Tests
{
    /// <summary>
    /// Failing tests from the second adversarial review (shared request budget, reporter). Each names the
    /// promise it breaks; they are expected to FAIL until the finding is fixed.
    /// </summary>
    public class SharerLeavingAndLateReportTests
    {
        private static TestEvent Event(int i) => new TestEvent { Email = $"user{i}@example.com", Details = new Dictionary<string, object?> { ["id"] = i } };

        // -----------------------------------------------------------------------------------------------------------
        // S1: RequestBudget.Lease.Dispose raises _maxPerMinute (SetLimit) but never the ceiling or the rate, and
        // OnSuccess cannot raise the ceiling either: _lastCeilingChange is still long.MinValue, so
        // GetElapsedTime(long.MinValue) overflows to a negative span and is never >= QuietPeriod. The survivor is
        // throttled to the departed sharer's limit for the rest of the process (until some 429 resets the clock).
        // -----------------------------------------------------------------------------------------------------------

        [Fact]
        public void when_the_strictest_sharer_leaves_the_budget_recovers_the_remaining_limit()
        {
            var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero));
            var account = "https://review2-a.example|" + Guid.NewGuid();
            var strict = RequestBudget.Acquire(account, clock, 10);
            using var loose = RequestBudget.Acquire(account, clock, 600);
            Assert.Same(strict.Budget, loose.Budget);
            Assert.Equal(10, loose.Budget.CurrentRatePerMinute);

            strict.Dispose();
            // An hour of successful requests, one a minute: plenty for "successes raise the rate back up to the ceiling"
            // and "the ceiling rises after every 10 minutes without a 429".
            for (var i = 0; i < 60; i++)
            {
                clock.Advance(TimeSpan.FromMinutes(1));
                Assert.Equal(TimeSpan.Zero, loose.Budget.TryTake(honourSpacing: true));
                loose.Budget.OnSuccess();
            }
            Assert.Equal(600, loose.Budget.CurrentRatePerMinute); // actual: stuck at 10 requests a minute
        }

        [Fact]
        public void an_unlimited_pipeline_is_unlimited_again_once_a_limited_sharer_leaves()
        {
            var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero));
            var account = "https://review2-b.example|" + Guid.NewGuid();
            using var unlimited = RequestBudget.Acquire(account, clock, 0);
            var limited = RequestBudget.Acquire(account, clock, 6);
            Assert.Equal(6, unlimited.Budget.CurrentRatePerMinute);
            limited.Dispose();
            for (var i = 0; i < 60; i++)
            {
                clock.Advance(TimeSpan.FromMinutes(1));
                unlimited.Budget.TryTake(honourSpacing: true);
                unlimited.Budget.OnSuccess();
            }
            // MaxRequestsPerMinute = 0 means "no client-side budget"; after an hour of successes the pipeline still
            // waits 10 s between requests.
            Assert.True(double.IsPositiveInfinity(unlimited.Budget.CurrentRatePerMinute) || unlimited.Budget.CurrentRatePerMinute >= 600,
                "rate stuck at " + unlimited.Budget.CurrentRatePerMinute + "/min");
        }

        // -----------------------------------------------------------------------------------------------------------
        // S3: RateLimitedReporter.Dispose disposes an armed timer but leaves _timerArmed = 1, so ArmTimer's
        // "after disposal, write what is pending now" branch is never reached again: every drop reported after
        // disposal (events offered to a disposed sink: counted shutdown) is counted but its line is lost for good.
        // Release() calls FlushPending() then Dispose(), so the window is any drop that armed the timer before it.
        // -----------------------------------------------------------------------------------------------------------

        [Fact]
        public void drops_reported_after_disposal_are_written_even_when_the_timer_was_armed()
        {
            var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero));
            var diagnostics = new ListDiagnostics();
            var reporter = new RateLimitedReporter(diagnostics, clock, TimeSpan.FromSeconds(30));
            reporter.Dropped(DropReason.Shutdown, 3);  // written now
            reporter.Dropped(DropReason.Shutdown, 1);  // within the interval: pending, timer armed
            reporter.FlushPending();                   // as Release() does ...
            reporter.Dispose();                        // ... then disposes (the armed timer goes, _timerArmed stays 1)
            reporter.Dropped(DropReason.Shutdown, 7);  // an event offered to the disposed pipeline
            clock.Advance(TimeSpan.FromMinutes(10));
            Assert.Contains(diagnostics.Lines, l => l.Contains("dropped 7 events", StringComparison.Ordinal));
        }
    }
}
