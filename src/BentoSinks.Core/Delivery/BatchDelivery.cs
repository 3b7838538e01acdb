using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using BentoSinks.Diagnostics;
using BentoSinks.Durable;

namespace BentoSinks.Delivery
{
    /// <summary>
    /// Delivers one batch: its requests, the splits that isolate what Bento refuses (400, 422, 413) and the retries of
    /// transient failures. What is left to send is one explicit stack of event ranges, popped only once a range has
    /// settled (sent or dropped), so an interruption (a hard stop, an unexpected exception) can neither lose nor
    /// double-count part of a batch: the pipeline resumes or drops exactly what the stack still holds.
    /// </summary>
    internal sealed class BatchDelivery<T>
    {
        /// <summary>
        /// Waits on the pipeline's clock: (how long, whether a flush or disposal may cut it short). At disposal it stops the
        /// loop instead when the next request could only go after the deadline (<see cref="WaitPolicy{T}.StopIfPastDeadline"/>).
        /// </summary>
        internal delegate Task Pause(TimeSpan delay, bool wakeable, CancellationToken stop);

        private readonly PipelineSettings _settings;
        private readonly BentoHttpSender _sender;
        private readonly RequestBudget _budget;
        private readonly DeliveryLedger<T> _ledger;
        private readonly PipelineCounters _counters;
        private readonly BentoMetrics _metrics;
        private readonly RateLimitedReporter _reporter;
        private readonly Func<bool> _urgent;
        private readonly Pause _pause;
        private readonly Func<TimeSpan> _timeLeft;
        private readonly Func<Task, CancellationToken, Task> _whileSending;
        private readonly Stack<(int Start, int Count)> _work = new Stack<(int, int)>();
        private readonly Random _random = new Random();
        private long _failingSince = long.MinValue;
        private int _attempt;
        private bool _firstRequest;
        private long _started;

        public BatchDelivery(PipelineSettings settings, BentoHttpSender sender, RequestBudget budget, DeliveryLedger<T> ledger,
            PipelineCounters counters, BentoMetrics metrics, RateLimitedReporter reporter, Func<bool> urgent, Pause pause, Func<Task, CancellationToken, Task> whileSending, Func<TimeSpan> timeLeft)
        {
            _whileSending = whileSending;
            _settings = settings;
            _sender = sender;
            _budget = budget;
            _ledger = ledger;
            _counters = counters;
            _metrics = metrics;
            _reporter = reporter;
            _urgent = urgent;
            _pause = pause;
            _timeLeft = timeLeft;
        }

        /// <summary>
        /// Durable mode: the batch's events are records in the buffer directory (the pipeline passes placeholders for
        /// the items, so drops are counted, not handed to listeners); while the buffer is healthy the retry time limit
        /// does not apply (the events wait on disk); events Bento refuses go to its dead-letter file.
        /// </summary>
        internal DurableBuffer? Durable { get; set; }

        /// <summary>
        /// Durable mode: whether the batch holds records read from the buffer directory (not only events kept in memory
        /// after a disk failure). Such a batch is never dropped for the retry time limit, nor for a 401/403, a redirect or
        /// a 404: those wait on disk, for this process or the next.
        /// </summary>
        internal Func<bool>? OnDisk { get; set; }

        /// <summary>Whether part of a batch is still to be settled.</summary>
        public bool InProgress => _work.Count > 0;

        /// <summary>Starts delivering a batch of <paramref name="count"/> events (the pipeline has already waited for the budget).</summary>
        public void Begin(int count)
        {
            _work.Clear();
            _work.Push((0, count));
            _failingSince = long.MinValue;
            _attempt = 0;
            _firstRequest = true;
            _started = _settings.TimeProvider.GetTimestamp();
        }

        /// <summary>Sends what is left of the batch until every event of it has settled.</summary>
        public async Task RunAsync(Batch batch, List<T> items, CancellationToken stop)
        {
            var time = _settings.TimeProvider;
            while (_work.Count > 0)
            {
                var (start, count) = _work.Peek();
                // The first request's budget was taken by the pipeline before it began the batch.
                if (!_firstRequest) await TakeBudgetAsync(stop).ConfigureAwait(false);
                _firstRequest = false;
                _counters.AddRequest();
                SendOutcome outcome;
                try
                {
                    var sending = _sender.SendAsync(batch, start, count, stop);
                    // The source's work while the request is on the wire (the disk source keeps spooling).
                    await _whileSending(sending, stop).ConfigureAwait(false);
                    outcome = await sending.ConfigureAwait(false);
                }
                catch (Exception ex) when (!stop.IsCancellationRequested)
                {
                    // A custom MessageHandler may throw anything: a transient failure, never the loop's end.
                    outcome = new SendOutcome(SendOutcomeKind.Retryable, 0, detail: "the HTTP handler threw " + ex.GetType().Name);
                }
                _metrics.Request(outcome.Status);
                _counters.AddAnswered();

                switch (outcome.Kind)
                {
                    case SendOutcomeKind.Success:
                        _budget.OnSuccess();
                        EndFailureStreak();
                        _counters.Health.Succeeded();
                        var failed = Math.Max(0, Math.Min(outcome.Failed, count));
                        _work.Pop();
                        _ledger.Sent(count - failed);
                        if (failed > 0)
                        {
                            _reporter.Problem("failed", $"Bento accepted a request but counted {failed} of its {count} events as failed.", error: false);
                            if (Durable is null) _ledger.Failed(failed, items.GetRange(start, count));
                            else
                            {
                                _ledger.Count(DropReason.Rejected, failed);
                                DeadLetter(batch, start, count, outcome.Status, $"Bento counted {failed} of these {count} events as failed without saying which");
                            }
                        }
                        break;

                    case SendOutcomeKind.Retryable:
                        if (outcome.TlsRefused) _counters.Health.WrongSetting("the server's TLS certificate was refused (its name does not match the Endpoint's host, or it is not trusted)");
                        if (outcome.Status == 429) _budget.OnThrottled(outcome.RetryAfter ?? TimeSpan.Zero);
                        var delay = NextRetry(outcome.RetryAfter);
                        if (delay is null)
                        {
                            _reporter.Problem("exhausted", $"Bento: giving up on {Remaining()} events after {_settings.RetryTimeLimit.TotalSeconds:0} s of retries (last: {outcome.Detail}).", error: true);
                            DropRemaining(items, DropReason.RetriesExhausted);
                            break;
                        }
                        _reporter.Problem("retry:" + outcome.Status, $"Bento: request failed ({outcome.Detail}); retrying in {delay.Value.TotalSeconds:0.#} s.", error: false);
                        await _pause(delay.Value, false, stop).ConfigureAwait(false);
                        break;

                    case SendOutcomeKind.BadRequest:
                    case SendOutcomeKind.TooLarge:
                        EndFailureStreak();
                        _work.Pop();
                        if (count == 1)
                        {
                            var reason = outcome.Kind == SendOutcomeKind.TooLarge ? DropReason.TooLarge : DropReason.Rejected;
                            _reporter.Problem("refused:" + outcome.Status, $"Bento refused an event ({outcome.Detail}).", error: false);
                            DeadLetter(batch, start, 1, outcome.Status, outcome.Detail);
                            Drop(reason, items, start, 1);
                        }
                        else
                        {
                            // Split to isolate what Bento refuses; the first half goes first.
                            var half = count / 2;
                            _work.Push((start + half, count - half));
                            _work.Push((start, half));
                        }
                        break;

                    case SendOutcomeKind.Unauthorized:
                        // Counted before the state is shown: whoever sees "unauthorized" also sees the events it cost.
                        var hold = HoldOnDisk();
                        if (!hold) DropRemaining(items, DropReason.Unauthorized);
                        _counters.Health.Unauthorized();
                        _reporter.Problem("unauthorized", $"Bento refused the request ({outcome.Detail}): check the site UUID, the publishable and secret keys, and that the account is active{Held()}.", error: true);
                        if (hold) await HoldAsync(stop).ConfigureAwait(false);
                        break;

                    case SendOutcomeKind.Unconfirmed when HoldOnDisk():
                        // A proxy or captive portal in front of Bento, as for a 404: the events are not at fault and wait on
                        // disk (Bento never answers 2xx without its result, so keeping them cannot deliver twice).
                        _reporter.Problem("unconfirmed", $"Bento: a request got an answer that is not Bento's ({outcome.Detail}){Held()}.", error: true);
                        await HoldAsync(stop).ConfigureAwait(false);
                        break;

                    case SendOutcomeKind.Unconfirmed:
                        EndFailureStreak();
                        _work.Pop();
                        _reporter.Problem("unconfirmed", $"Bento: {count} event{(count == 1 ? "" : "s")} got an answer that is not Bento's ({outcome.Detail}); they are counted unconfirmed, not sent.", error: true);
                        Drop(DropReason.Unconfirmed, items, start, count);
                        break;

                    case SendOutcomeKind.Redirect:
                        var holdRedirected = HoldOnDisk();
                        _reporter.Problem("redirect", $"Bento's endpoint answered with a redirect ({outcome.Detail}): check the Endpoint setting; it must be Bento's API base, e.g. https://app.bentonow.com/api/v1{Held()}.", error: true);
                        if (!holdRedirected)
                        {
                            EndFailureStreak(); // a definitive answer
                            DropRemaining(items, DropReason.Rejected);
                        }
                        _counters.Health.WrongSetting("the endpoint answered with a redirect (HTTP " + outcome.Status + ")");
                        if (holdRedirected) await HoldAsync(stop).ConfigureAwait(false);
                        break;

                    case SendOutcomeKind.Rejected when outcome.Status == 404 && HoldOnDisk():
                        _counters.Health.WrongSetting("the endpoint answered HTTP 404: there is no Bento API at that address");
                        // Not Bento's API at this address (a wrong Endpoint, a proxy): the events are not at fault.
                        _reporter.Problem("rejected:404", $"Bento's endpoint answered 404 ({outcome.Detail}): check the Endpoint setting{Held()}.", error: true);
                        await HoldAsync(stop).ConfigureAwait(false);
                        break;

                    default:
                        EndFailureStreak();
                        _work.Pop();
                        _reporter.Problem("rejected:" + outcome.Status, $"Bento rejected a request of {count} event{(count == 1 ? "" : "s")} ({outcome.Detail})" + (outcome.Status == 404 || outcome.Status == 405 ? $"; check the endpoint: requests go to {{Endpoint}}/batch/events, and Endpoint must be Bento's API base ({BentoOptions.DefaultEndpoint})." : "."), error: true);
                        DeadLetter(batch, start, count, outcome.Status, outcome.Detail);
                        Drop(DropReason.Rejected, items, start, count);
                        // Shown after the count, so whoever sees the wrong setting also sees the events it cost.
                        if (outcome.Status == 404 || outcome.Status == 405) _counters.Health.WrongSetting("the endpoint answered HTTP " + outcome.Status + ": there is no Bento API at that address");
                        break;
                }
            }
            _metrics.BatchSent(time.GetElapsedTime(_started));
        }

        /// <summary>
        /// An unexpected exception interrupted the batch: it counts as a transient failure of the request in hand. Returns
        /// how long to wait before resuming, or null when the retry time limit is spent (what is left was then dropped).
        /// </summary>
        public TimeSpan? OnUnexpectedFailure(List<T> items)
        {
            var delay = NextRetry(null);
            if (delay is null) DropRemaining(items, DropReason.RetriesExhausted);
            return delay;
        }

        /// <summary>Durable mode: whether a refusal of the whole request (401/403, a redirect, a 404) holds the batch on disk.</summary>
        private bool HoldOnDisk() => Durable != null && OnDisk != null && OnDisk();

        private string Held() => HoldOnDisk() ? "; the events wait in the buffer directory and are retried with a backoff" : "";

        /// <summary>Durable mode: a refusal of the whole request is waited out like an outage, the batch kept on disk.</summary>
        private Task HoldAsync(CancellationToken stop)
        {
            // The retry time limit never applies to a batch on disk, so there is always a next retry.
            var delay = NextRetry(null) ?? RetrySchedule.MaxBackoff;
            return _pause(delay, false, stop);
        }

        /// <summary>Drops, once, every event of the batch that has not settled yet.</summary>
        public void DropRemaining(List<T> items, DropReason reason)
        {
            if (_work.Count == 0) return;
            var dropped = new List<T>();
            while (_work.Count > 0)
            {
                var (start, count) = _work.Pop();
                for (var i = start; i < start + count; i++) dropped.Add(items[i]);
            }
            if (Durable is null) _ledger.Dropped(reason, dropped);
            else _ledger.Count(reason, dropped.Count);
        }

        /// <summary>
        /// Durable mode, at the end: the batch's records stay in the buffer directory for the next process. Returns how many
        /// of the events not settled yet are among <paramref name="fromMemory"/> (indexes of events on no disk) of a batch
        /// of <paramref name="count"/> (all of it unsettled when its delivery has not begun).
        /// </summary>
        public int Abandon(List<int> fromMemory, int count)
        {
            var lost = 0;
            foreach (var index in fromMemory)
            {
                if (_work.Count == 0 ? index < count : Unsettled(index)) lost++;
            }
            _work.Clear();
            return lost;
        }

        private bool Unsettled(int index)
        {
            foreach (var (start, count) in _work)
            {
                if (index >= start && index < start + count) return true;
            }
            return false;
        }

        private void Drop(DropReason reason, List<T> items, int start, int count)
        {
            if (Durable != null) _ledger.Count(reason, count);
            else if (count == 1) _ledger.Dropped(reason, items[start]);
            else _ledger.Dropped(reason, items.GetRange(start, count));
        }

        private void DeadLetter(Batch batch, int start, int count, int status, string? reason)
        {
            if (Durable is null) return;
            for (var i = start; i < start + count; i++) Durable.DeadLetter(batch.EventJson(i), status, reason ?? "refused");
        }

        /// <summary>How many events of the batch have not settled yet.</summary>
        public int Remaining()
        {
            var n = 0;
            foreach (var (_, count) in _work) n += count;
            return n;
        }

        private TimeSpan? NextRetry(TimeSpan? retryAfter)
        {
            var time = _settings.TimeProvider;
            if (_failingSince == long.MinValue) _failingSince = time.GetTimestamp();
            // In durable mode the events wait on disk, with their original date, for as long as the outage lasts.
            // Records read from disk stay there even after the disk failed for writes: only events kept in memory expire.
            var limit = Durable != null && (Durable.Healthy || (OnDisk != null && OnDisk())) ? TimeSpan.MaxValue : _settings.RetryTimeLimit;
            var delay = RetrySchedule.Next(_attempt, time.GetElapsedTime(_failingSince), retryAfter, limit, _random.NextDouble(), _random.NextDouble());
            if (delay is null)
            {
                _counters.Health.RetryEnded();
                return null;
            }
            _counters.Health.Retrying();
            _attempt++;
            _counters.AddRetry();
            _metrics.Retry();
            return delay;
        }

        private void EndFailureStreak()
        {
            _failingSince = long.MinValue;
            _attempt = 0;
            _counters.Health.RetryEnded();
        }

        private async Task TakeBudgetAsync(CancellationToken stop)
        {
            // Splits and retries spend the budget too; a flush or disposal skips its spacing, never a 429's block.
            while (true)
            {
                // The time left is TimeSpan.MaxValue unless a flush or disposal with a deadline is waiting.
                var wait = _budget.TryTake(honourSpacing: !_urgent(), full: false, partialBatch: false, _timeLeft());
                if (wait <= TimeSpan.Zero) return;
                await _pause(wait, true, stop).ConfigureAwait(false);
                stop.ThrowIfCancellationRequested();
            }
        }
    }
}
