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
        public void Pipelines_stopping_one_after_another_share_the_first_ones_deadline()
        {
            var time = FakeClock.New();
            var account = "acct-" + Guid.NewGuid();
            Assert.Equal(T, ShutdownWindow.Enter(account, time, T, out var first));
            time.Advance(TimeSpan.FromSeconds(4)); // the first delivered what it held in 4 s
            first.Leave();
            time.Advance(TimeSpan.FromMilliseconds(500));
            Assert.Equal(TimeSpan.FromSeconds(25.5), ShutdownWindow.Enter(account, time, T, out var second));
            time.Advance(TimeSpan.FromSeconds(25.5)); // the second spent all that was left (Bento down)
            second.Leave();
            Assert.Equal(TimeSpan.Zero, ShutdownWindow.Enter(account, time, T, out var third)); // no time left in the wave
            third.Leave();
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
            a.Leave(); b.Leave(); c.Leave();
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
            a.Leave(); other.Leave(); otherClock.Leave();
            time.Advance(ShutdownWindow.Chain + TimeSpan.FromMilliseconds(1));
            Assert.Equal(T, ShutdownWindow.Enter(account, time, T, out var later)); // a new wave: the app kept running
            later.Leave();
        }
    }
}
