using System;
using System.Threading;
using System.Threading.Tasks;
using BentoSinks.Diagnostics;

namespace BentoSinks.Delivery
{
    /// <summary>
    /// The one delivery loop, the same for both sources: it asks the <see cref="IEventSource{T}"/> for the next events,
    /// lets the batch fill (period, count, bytes), spends the request budget and hands the batch to
    /// <see cref="BatchDelivery{T}"/>; once Bento has settled it, the source is acknowledged and flushes complete.
    /// One request at a time (filling a second batch while one is on the wire was measured slower end to end on 2 cores:
    /// see benchmarks/README.md).
    /// </summary>
    internal sealed class DeliveryLoop<T>
    {
        private readonly PipelineSettings _settings;
        private readonly IEventSource<T> _source;
        private readonly BatchAssembler<T> _batch;
        private readonly BatchDelivery<T> _delivery;
        private readonly RequestBudget _budget;
        private readonly FlushTracker _flushes;
        private readonly EventQueue<T> _queue;
        private readonly RateLimitedReporter _reporter;
        private readonly Func<bool> _urgent;

        public DeliveryLoop(PipelineSettings settings, IEventSource<T> source, BatchAssembler<T> batch, BatchDelivery<T> delivery, RequestBudget budget,
            FlushTracker flushes, EventQueue<T> queue, WaitPolicy<T> waits, RateLimitedReporter reporter, Func<bool> urgent)
        {
            _settings = settings;
            _source = source;
            _batch = batch;
            _delivery = delivery;
            _budget = budget;
            _flushes = flushes;
            _queue = queue;
            Waits = waits;
            _reporter = reporter;
            _urgent = urgent;
        }

        public WaitPolicy<T> Waits { get; }

        /// <summary>Runs until the queue is closed and everything has settled, or the stop; then counts what is left once.</summary>
        public async Task RunAsync(CancellationToken stop)
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        if (!await StepAsync(stop).ConfigureAwait(false)) break;
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested)
                    {
                        break;
                    }
                    catch (Exception ex)
                    {
                        // The loop must outlive any bug or hostile input: report, back off, and carry on.
                        _reporter.Problem("loop:" + ex.GetType().Name, "Bento: unexpected error in the delivery loop (" + ex.GetType().Name + "); delivery carries on.", error: true);
                        // During a delivery it counts as a failed request (the batch resumes where it was, or is
                        // dropped once the retry time limit is spent); elsewhere nothing is lost, the turn is retried.
                        var delay = _delivery.InProgress ? _delivery.OnUnexpectedFailure(_batch.Items) : RetrySchedule.BaseBackoff;
                        // Every event of the batch has settled (perhaps just before the exception): never resend it.
                        if (_batch.DeliveryBegun && !_delivery.InProgress) SettleBatch();
                        try { await Waits.ParkAsync(delay ?? TimeSpan.Zero, read: false, wakeable: false, stop).ConfigureAwait(false); }
                        catch (OperationCanceledException) { break; }
                    }
                }
            }
            finally
            {
                End();
            }
        }

        /// <summary>One turn of the loop; false once the queue is closed and everything has settled.</summary>
        private async Task<bool> StepAsync(CancellationToken stop)
        {
            // Take the wake signal before looking at the state, so that a wake raised after this point is not lost.
            Waits.TakeWake();
            _source.Turn(_urgent());

            if (!_delivery.InProgress)
            {
                _batch.PlaceHeldOver(_source.Durable);
                _source.Fill(_batch);
                CompleteFlushes();
            }

            if (_batch.Count == 0)
            {
                // Records whose read failed wait for the next attempt (the source wakes the loop for it).
                if (_queue.Drained && !_source.Waiting) return false;
                _batch.ReleaseIdleMemory();
                Waits.ReleaseIdle();
                await Waits.ParkAsync(null, read: true, wakeable: true, stop).ConfigureAwait(false);
                return true;
            }

            if (!_delivery.InProgress)
            {
                // Events an earlier process left (sequence 0) go at once, not after a Period, even behind events from memory.
                var full = _batch.Full || (_source.Durable && _batch.OldestHeld == 0);
                var urgent = _urgent();
                if (!full && !urgent)
                {
                    var elapsed = _settings.TimeProvider.GetElapsedTime(_batch.Started);
                    var due = FillTime() - elapsed;
                    if (due > TimeSpan.Zero)
                    {
                        await Waits.ParkFillingAsync(due, _batch, stop).ConfigureAwait(false);
                        return true;
                    }
                }

                // While the budget is spent, the batch keeps filling (unless full): requests get fuller, not more frequent.
                var wait = _budget.TryTake(honourSpacing: !urgent, full: _batch.Full, partialBatch: !full, Waits.TimeLeft);
                if (wait > TimeSpan.Zero)
                {
                    // At disposal, a wait past the shutdown deadline sends nothing more: stop now (counted in End).
                    Waits.StopIfPastDeadline(wait, stop);
                    if (full) await Waits.ParkAsync(wait, read: false, wakeable: true, stop).ConfigureAwait(false);
                    else await Waits.ParkFillingAsync(wait, _batch, stop).ConfigureAwait(false);
                    return true;
                }
                _delivery.Begin(_batch.Count);
                _batch.DeliveryBegun = true;
            }

            await _delivery.RunAsync(_batch.Batch, _batch.Items, stop).ConfigureAwait(false);
            SettleBatch();
            return true;
        }

        /// <summary>
        /// How long a partial batch waits to fill: <c>Period</c>, or longer while the account is contended: see <see cref="RequestBudget.PartialFillTime"/>.
        /// </summary>
        private TimeSpan FillTime() => _budget.PartialFillTime(_settings.Period);

        private void SettleBatch()
        {
            _source.Settled(_batch);
            _batch.Clear();
            CompleteFlushes();
        }

        /// <summary>Completes the flushes whose events have all settled: none at or before their target is still held.</summary>
        private void CompleteFlushes() => _flushes.CompleteBefore(Math.Min(_batch.OldestHeld, _source.OldestUnread));

        /// <summary>When the loop ends (closed, or stopped hard): everything still held is counted once.</summary>
        private void End()
        {
            try
            {
                _source.End(_batch, _delivery);
            }
            catch (Exception ex)
            {
                _reporter.Problem("settle", "Bento: error while counting undelivered events at shutdown (" + ex.GetType().Name + ").", error: true);
            }
            finally
            {
                _flushes.CompleteAll();
                _batch.Dispose();
                Waits.ReleaseIdle();
            }
        }
    }
}
