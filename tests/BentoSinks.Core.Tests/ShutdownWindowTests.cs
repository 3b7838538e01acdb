using System;
using BentoSinks.Delivery;
using BentoSinks.Testing;
using Xunit;

namespace BentoSinks.Core.Tests
{
    /// <summary>The rules of the one shutdown deadline that pipelines of an account share (see <see cref="ShutdownWindow"/>).</summary>
    public class ShutdownWindowTests
    {
        private static readonly TimeSpan T = TimeSpan.FromSeconds(30);

        [Fact]
        public void After_a_pipeline_ran_out_of_time_the_next_ones_within_a_second_get_none_and_others_get_their_own()
        {
            var time = FakeClock.New();
            var account = "acct-" + Guid.NewGuid();
            Assert.Equal(T, ShutdownWindow.Enter(account, time, T, out var first));
            time.Advance(TimeSpan.FromSeconds(4)); // the first delivered what it held in 4 s
            first.Leave(timedOut: false);
            time.Advance(TimeSpan.FromMilliseconds(500));
            // The first stopped in time: the next one, half a second later, gets its own whole timeout.
            Assert.Equal(T, ShutdownWindow.Enter(account, time, T, out var second));
            time.Advance(T); // the second spent all of it (Bento down)
            second.Leave(timedOut: true);
            time.Advance(TimeSpan.FromMilliseconds(500));
            Assert.Equal(TimeSpan.Zero, ShutdownWindow.Enter(account, time, T, out var third)); // no time left in the wave
            third.Leave(timedOut: true);
        }

        [Fact]
        public void Pipelines_that_each_stop_in_time_one_after_another_never_run_the_deadline_down_to_zero()
        {
            // An app that disposes a short-lived logger every 0.5 s, each delivering in 10 ms (Bento healthy).
            var time = FakeClock.New();
            var account = "acct-" + Guid.NewGuid();
            for (var i = 0; i < 200; i++)
            {
                var given = ShutdownWindow.Enter(account, time, TimeSpan.FromSeconds(5), out var w);
                Assert.True(given > TimeSpan.FromSeconds(1), $"pipeline {i} was given {given}");
                time.Advance(TimeSpan.FromMilliseconds(10));
                w.Leave(timedOut: false);
                time.Advance(TimeSpan.FromMilliseconds(490));
            }
        }

        [Fact]
        public void Pipelines_stopping_at_once_end_by_the_same_deadline_and_a_shorter_timeout_still_wins()
        {
            var time = FakeClock.New();
            var account = "acct-" + Guid.NewGuid();
            ShutdownWindow.Enter(account, time, T, out var a);
            time.Advance(TimeSpan.FromSeconds(10));
            Assert.Equal(TimeSpan.FromSeconds(20), ShutdownWindow.Enter(account, time, T, out var b));
            Assert.Equal(TimeSpan.FromSeconds(3), ShutdownWindow.Enter(account, time, TimeSpan.FromSeconds(3), out var c));
            a.Leave(false); b.Leave(false); c.Leave(false);
        }

        [Fact]
        public void A_later_shutdown_after_the_wave_and_other_accounts_and_clocks_get_their_whole_timeout()
        {
            var time = FakeClock.New();
            var account = "acct-" + Guid.NewGuid();
            ShutdownWindow.Enter(account, time, T, out var a);
            Assert.Equal(T, ShutdownWindow.Enter("other-" + Guid.NewGuid(), time, T, out var other));
            Assert.Equal(T, ShutdownWindow.Enter(account, FakeClock.New(), T, out var otherClock));
            time.Advance(T);
            a.Leave(true); other.Leave(false); otherClock.Leave(false);
            time.Advance(ShutdownWindow.Chain + TimeSpan.FromMilliseconds(1));
            Assert.Equal(T, ShutdownWindow.Enter(account, time, T, out var later)); // a new wave: the app kept running
            later.Leave(false);
        }
    }
}
