using System.Collections.Generic;
using System;
using BentoSinks.Delivery;
using BentoSinks.Testing;
using Microsoft.Extensions.Time.Testing;

namespace BentoSinks.Core.Tests
{
    /// <summary>The request budget's reaction to 429s and its recovery, on a fake clock (see the design in RequestBudget's remarks).</summary>
    public class RequestBudgetTests
    {
        /// <summary>Spends one request every <paramref name="every"/> for <paramref name="span"/>, each answered 2xx.</summary>
        private static void SendEvery(FakeTimeProvider time, RequestBudget budget, TimeSpan every, TimeSpan span, bool full = false)
        {
            for (var t = TimeSpan.Zero; t < span; t += every)
            {
                Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full));
                budget.OnSuccess();
                time.Advance(every);
            }
        }

        /// <summary>A request spent now and answered 429.</summary>
        private static void Refused(RequestBudget budget, TimeSpan retryAfter)
        {
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true));
            budget.OnThrottled(retryAfter);
        }

        [Fact]
        public void A_429_halves_what_the_instance_actually_sends_not_its_ceiling()
        {
            var time = FakeClock.New();
            var budget = new RequestBudget(time, 20, new Random(1));
            // A quiet instance: a partial batch every Period (10 s), 6 requests a minute, far under its ceiling of 20.
            SendEvery(time, budget, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(2));
            Assert.Equal(20, budget.CurrentRatePerMinute);
            Refused(budget, TimeSpan.FromSeconds(2));
            // 6 a minute observed: 3 a minute now, so the next batch waits 20 s (and fills twice as full).
            Assert.Equal(3, budget.CurrentRatePerMinute, 3);
            time.Advance(TimeSpan.FromSeconds(10));
            Assert.Equal(TimeSpan.FromSeconds(10), budget.TryTake(honourSpacing: true));
        }

        [Fact]
        public void Requests_already_on_the_wire_when_a_429_came_are_one_signal_and_a_later_one_halves_again()
        {
            var time = FakeClock.New();
            var budget = new RequestBudget(time, 20, new Random(1));
            SendEvery(time, budget, TimeSpan.FromSeconds(3), TimeSpan.FromMinutes(1)); // 20 a minute
            Refused(budget, TimeSpan.FromSeconds(1));
            budget.OnThrottled(TimeSpan.FromSeconds(1)); // a sharer's request, spent before the first 429
            Assert.Equal(10, budget.CurrentRatePerMinute, 3);
            time.Advance(TimeSpan.FromSeconds(8)); // past the block: 1 s + up to one spacing (6 s)
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true)); // spent after the decrease, refused too
            budget.OnThrottled(TimeSpan.FromSeconds(1));
            Assert.Equal(5, budget.CurrentRatePerMinute, 3);
        }

        [Fact]
        public void The_rate_follows_the_load_full_batches_that_waited_raise_it_and_partial_ones_give_it_back_while_contended()
        {
            var time = FakeClock.New();
            var budget = new RequestBudget(time, 20, new Random(7));
            SendEvery(time, budget, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(1));
            Refused(budget, TimeSpan.Zero);
            var refusedAt = time.GetUtcNow();
            Assert.Equal(3, budget.CurrentRatePerMinute, 3);

            // Full batches that waited on the budget: each success raises the rate by 0.05 to 0.15 a minute, k times that for the k-th in a row.
            for (var i = 0; i < 5; i++)
            {
                var before = budget.CurrentRatePerMinute;
                Assert.True(budget.TryTake(honourSpacing: true, full: true) > TimeSpan.Zero);
                time.Advance(TimeSpan.FromMinutes(1.0 / before));
                Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: true));
                budget.OnSuccess();
                Assert.InRange(budget.CurrentRatePerMinute - before, 0.05 * (i + 1) - 1e-9, 0.15 * (i + 1) + 1e-9); // the k-th in a row: k steps
            }
            // A full batch that did not wait (the budget was not what held it) changes nothing.
            var rate = budget.CurrentRatePerMinute;
            time.Advance(TimeSpan.FromMinutes(1));
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: true));
            budget.OnSuccess();
            Assert.Equal(rate, budget.CurrentRatePerMinute);

            // Partial batches that waited, a 429 less than 10 minutes ago: 0.05 to 0.15 back, k times that for the k-th in a row, down to a request a minute.
            for (var k = 1; budget.CurrentRatePerMinute > 1 && time.GetUtcNow() - refusedAt < TimeSpan.FromMinutes(9); k++)
            {
                var before = budget.CurrentRatePerMinute;
                Assert.True(budget.TryTake(honourSpacing: true, full: false) > TimeSpan.Zero);
                time.Advance(TimeSpan.FromMinutes(1.0 / before));
                Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: false));
                budget.OnSuccess();
                var after = budget.CurrentRatePerMinute;
                var steps = Math.Min(k, 10);
                Assert.True(after == 1 || (before - after >= 0.05 * steps - 1e-9 && before - after <= 0.15 * steps + 1e-9), $"{before} -> {after}");
            }
            Assert.True(budget.CurrentRatePerMinute < rate - 0.5, $"{rate} -> {budget.CurrentRatePerMinute}");
            // Ten minutes after the 429 the account is no longer contended: partial batches give nothing back.
            time.Advance(TimeSpan.FromMinutes(2));
            rate = budget.CurrentRatePerMinute;
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: false));
            Assert.True(budget.TryTake(honourSpacing: true, full: false) > TimeSpan.Zero);
            time.Advance(TimeSpan.FromMinutes(1));
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: false));
            Assert.Equal(rate, budget.CurrentRatePerMinute);
        }

        [Fact]
        public void The_rate_never_falls_below_one_request_a_minute()
        {
            var time = FakeClock.New();
            var budget = new RequestBudget(time, 20, new Random(1));
            for (var i = 0; i < 20; i++)
            {
                time.Advance(TimeSpan.FromMinutes(3));
                Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true));
                budget.OnThrottled(TimeSpan.Zero);
            }
            Assert.Equal(1, budget.CurrentRatePerMinute);
            Assert.Equal(TimeSpan.FromMinutes(1), budget.TryTake(honourSpacing: true));
        }

        [Fact]
        public void A_new_instance_spaces_its_partial_batches_40_s_apart_for_its_first_two_quiet_intervals_then_closes_the_spacing_slowly()
        {
            var time = FakeClock.New();
            var budget = new RequestBudget(time, 20, new Random(1));
            // The first partial batch goes at its Period, as before.
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: false, partialBatch: true));
            time.Advance(TimeSpan.FromSeconds(10));
            // The next one 40 s (× 0.75-1.25, drawn per request) after it, not at the next Period (the rate's own spacing is 3 s)...
            Assert.InRange(budget.TryTake(honourSpacing: true, full: false, partialBatch: true), TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(40));
            // ...while a full batch goes at the rate (one busy process keeps its whole ceiling), and so do a split and a retry.
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: true, partialBatch: false));
            time.Advance(TimeSpan.FromSeconds(3));
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: false, partialBatch: false));
            // A flush or disposal is not held either.
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: false, full: false, partialBatch: true));
            time.Advance(TimeSpan.FromMinutes(14.5));
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: false, partialBatch: true));
            time.Advance(TimeSpan.FromSeconds(10));
            Assert.InRange(budget.TryTake(honourSpacing: true, full: false, partialBatch: true), TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(40)); // not before 2 x 0.75 x 10 min
            // After two jittered quiet intervals (at most 2 x 1.25 x 10 min) without a 429 the spacing does not step back to
            // Period: it closes slowly (the rate of partial batches climbs from 1.5 a minute by 0.5-1.5 an hour).
            time.Advance(TimeSpan.FromMinutes(11));
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: false, partialBatch: true));
            time.Advance(TimeSpan.FromSeconds(10));
            var justAfter = budget.TryTake(honourSpacing: true, full: false, partialBatch: true) + TimeSpan.FromSeconds(10);
            Assert.InRange(justAfter, TimeSpan.FromSeconds(26), TimeSpan.FromSeconds(50));
            // An hour on: 2-3 a minute (20-30 s apart, × 0.75-1.25); nine hours on, at Period (6 a minute) or faster.
            time.Advance(TimeSpan.FromHours(1));
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: false, partialBatch: true));
            time.Advance(TimeSpan.FromSeconds(10));
            var anHourOn = budget.TryTake(honourSpacing: true, full: false, partialBatch: true) + TimeSpan.FromSeconds(10);
            Assert.InRange(anHourOn, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(37.5));
            time.Advance(TimeSpan.FromHours(8));
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: false, partialBatch: true));
            time.Advance(TimeSpan.FromSeconds(10));
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: false, partialBatch: true));
        }

        [Fact]
        public void With_the_budget_lifted_partial_batches_are_never_held_for_a_gentle_start()
        {
            var time = FakeClock.New();
            var budget = new RequestBudget(time, 0, new Random(1)); // MaxRequestsPerMinute = 0: no budget
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: false, partialBatch: true));
            time.Advance(TimeSpan.FromSeconds(10));
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: false, partialBatch: true));
        }

        [Fact]
        public void After_a_429_partial_batches_wait_a_minute_to_fill_then_go_40_s_apart_for_about_an_hour_then_closer_slowly()
        {
            var time = FakeClock.New();
            var budget = new RequestBudget(time, 20, new Random(3));
            var period = TimeSpan.FromSeconds(10);
            SendEvery(time, budget, period, TimeSpan.FromMinutes(1));
            Assert.Equal(period, budget.PartialFillTime(period));
            Refused(budget, TimeSpan.Zero);
            // Contended: a partial batch waits a minute to fill, whatever its pace (it goes as soon as it is full); a longer Period stays.
            Assert.Equal(TimeSpan.FromMinutes(1), budget.PartialFillTime(period));
            Assert.Equal(TimeSpan.FromMinutes(2), budget.PartialFillTime(TimeSpan.FromMinutes(2)));
            time.Advance(TimeSpan.FromMinutes(7.4));
            Assert.Equal(TimeSpan.FromMinutes(1), budget.PartialFillTime(period)); // not before 0.75 x 10 minutes
            time.Advance(TimeSpan.FromMinutes(5.2));
            Assert.Equal(period, budget.PartialFillTime(period)); // by 1.25 x 10 minutes
            // Then, until six jittered quiet intervals after the 429 (45 to 75 minutes), partial batches 40 s apart (the rate's spacing is 20 s).
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: false, partialBatch: true));
            time.Advance(TimeSpan.FromSeconds(5));
            Assert.InRange(budget.TryTake(honourSpacing: true, full: false, partialBatch: true), TimeSpan.FromSeconds(25), TimeSpan.FromSeconds(45));
            time.Advance(TimeSpan.FromMinutes(30));
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: false, partialBatch: true));
            time.Advance(TimeSpan.FromSeconds(5));
            Assert.InRange(budget.TryTake(honourSpacing: true, full: false, partialBatch: true), TimeSpan.FromSeconds(25), TimeSpan.FromSeconds(45));
            // Past 75 minutes the spacing closes slowly toward the rate's (20 s), never stepping there at once.
            time.Advance(TimeSpan.FromMinutes(33));
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: false, partialBatch: true));
            time.Advance(TimeSpan.FromSeconds(5));
            Assert.InRange(budget.TryTake(honourSpacing: true, full: false, partialBatch: true), TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(45));
            time.Advance(TimeSpan.FromHours(7));
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: false, partialBatch: true));
            time.Advance(TimeSpan.FromSeconds(5));
            Assert.Equal(TimeSpan.FromSeconds(15), budget.TryTake(honourSpacing: true, full: false, partialBatch: true));
        }

        [Fact]
        public void At_disposal_a_429s_random_spread_past_the_deadline_is_drawn_again_within_the_time_left_never_before_its_Retry_After()
        {
            var fitted = new HashSet<long>();
            for (var seed = 1; seed <= 40; seed++)
            {
                var time = FakeClock.New();
                var budget = new RequestBudget(time, 20, new Random(seed));
                SendEvery(time, budget, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(1));
                Refused(budget, TimeSpan.FromSeconds(5));
                // 4 s left: the Retry-After itself ends past the deadline (less 2 s for the request): nothing fits, disposal stops.
                Assert.True(budget.TryTake(honourSpacing: false, full: false, partialBatch: false, TimeSpan.FromSeconds(4)) >= TimeSpan.FromSeconds(5));
                Assert.Equal(0, budget.ShutdownAllowance(TimeSpan.FromSeconds(4)));
                // 9 s left: a spread that ends past 7 s is drawn again between the Retry-After (5 s) and 7 s, and then holds.
                var wait = budget.TryTake(honourSpacing: false, full: false, partialBatch: false, TimeSpan.FromSeconds(9));
                Assert.InRange(wait, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(20));
                Assert.True(wait <= TimeSpan.FromSeconds(7), $"seed {seed}: {wait} is past the time left less the margin");
                Assert.True(budget.ShutdownAllowance(TimeSpan.FromSeconds(9)) >= 1);
                fitted.Add(wait.Ticks / TimeSpan.TicksPerMillisecond);
                Assert.Equal(wait, budget.TryTake(honourSpacing: false, full: false, partialBatch: false, TimeSpan.FromSeconds(9)));
                // Outside disposal (no deadline: a sharer of the budget that is not disposing) the spread as drawn holds.
                Assert.True(budget.TryTake(honourSpacing: false) >= wait);
            }
            // Instances refused together, at one deadline, come back at different times.
            Assert.True(fitted.Count > 30, $"only {fitted.Count} distinct waits");
        }

        [Fact]
        public void Instances_refused_together_stop_waiting_a_minute_to_fill_at_different_times_and_a_seed_replays_them()
        {
            static TimeSpan Contended(int seed)
            {
                var time = FakeClock.New();
                var budget = new RequestBudget(time, 20, new Random(seed));
                SendEvery(time, budget, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(1));
                Refused(budget, TimeSpan.Zero);
                var start = time.GetUtcNow();
                while (budget.PartialFillTime(TimeSpan.FromSeconds(10)) > TimeSpan.FromSeconds(10)) time.Advance(TimeSpan.FromSeconds(1));
                return time.GetUtcNow() - start;
            }

            var times = new System.Collections.Generic.HashSet<TimeSpan>();
            for (var seed = 0; seed < 10; seed++)
            {
                var t = Contended(seed);
                Assert.InRange(t, TimeSpan.FromMinutes(7.5), TimeSpan.FromMinutes(12.5));
                times.Add(t);
            }
            Assert.True(times.Count >= 8, "ten instances left the contended fill at only " + times.Count + " distinct times");
            Assert.Equal(Contended(4), Contended(4));
        }

        [Fact]
        public void A_busy_process_never_refused_keeps_its_ceiling_and_disposal_sends_its_backlog_at_once()
        {
            var time = FakeClock.New();
            var budget = new RequestBudget(time, 20, new Random(1));
            // 1,000 events a second: full batches waiting on the budget, 20 a minute, never a 429.
            SendEvery(time, budget, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(90), full: true);
            Assert.Equal(20, budget.CurrentRatePerMinute);
            // Partial batches that wait on the spacing give nothing back while the account never said 429.
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: false));
            Assert.True(budget.TryTake(honourSpacing: true, full: false) > TimeSpan.Zero);
            time.Advance(TimeSpan.FromSeconds(3));
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: true, full: false));
            Assert.Equal(20, budget.CurrentRatePerMinute);
            Assert.Equal(int.MaxValue, budget.ShutdownAllowance(TimeSpan.FromSeconds(30)));
            for (var i = 0; i < 60; i++) Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: false));
        }

        [Fact]
        public void After_a_429_a_flush_sends_a_request_a_second_and_the_shutdown_allowance_says_how_many_fit()
        {
            var time = FakeClock.New();
            var budget = new RequestBudget(time, 20, new Random(1));
            SendEvery(time, budget, TimeSpan.FromSeconds(3), TimeSpan.FromMinutes(1)); // 20 a minute
            Refused(budget, TimeSpan.FromSeconds(5));
            Assert.Equal(10, budget.CurrentRatePerMinute, 3);
            Assert.True(budget.Contended);
            // Blocked 5 s plus up to one spacing (6 s), then one request a second: 20 to 26 before a 30 s deadline.
            var blocked = budget.TryTake(honourSpacing: false);
            Assert.InRange(blocked, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(11));
            Assert.Equal(1 + (int)(TimeSpan.FromSeconds(30) - blocked).TotalSeconds, budget.ShutdownAllowance(TimeSpan.FromSeconds(30)));
            Assert.Equal(0, budget.ShutdownAllowance(TimeSpan.FromSeconds(4)));
            time.Advance(blocked);
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: false));
            Assert.Equal(TimeSpan.FromSeconds(1), budget.TryTake(honourSpacing: false));
            // A minute after the 429 the account is no longer contended: a flush bursts again.
            time.Advance(TimeSpan.FromMinutes(1));
            Assert.False(budget.Contended);
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: false));
            Assert.Equal(TimeSpan.Zero, budget.TryTake(honourSpacing: false));
        }

        [Fact]
        public void Instances_refused_together_wait_different_times_before_their_retry()
        {
            var waits = new System.Collections.Generic.HashSet<TimeSpan>();
            for (var seed = 0; seed < 10; seed++)
            {
                var time = FakeClock.New();
                var budget = new RequestBudget(time, 20, new Random(seed));
                SendEvery(time, budget, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(1));
                Refused(budget, TimeSpan.FromSeconds(1));
                // Retry-After 1 s, then up to one spacing at the new rate (20 s), at most 15 s.
                var wait = budget.TryTake(honourSpacing: false);
                Assert.InRange(wait, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(16));
                waits.Add(wait);
            }
            Assert.True(waits.Count >= 9, "ten instances refused together retry at only " + waits.Count + " distinct times");
        }
    }
}
