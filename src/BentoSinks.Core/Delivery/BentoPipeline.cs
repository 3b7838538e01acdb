using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using BentoSinks.Diagnostics;
using BentoSinks.Durable;

namespace BentoSinks.Delivery
{
    /// <summary>
    /// One delivery pipeline, shared by the Serilog sink and the OpenTelemetry exporter: the application's side of it
    /// (offer, flush, shutdown) and the parts it wires together. The application's threads only queue into the bounded
    /// <see cref="EventQueue{T}"/>; one <see cref="DeliveryLoop{T}"/> asks its source (memory, or the buffer directory)
    /// for the next events, assembles batches (<see cref="BatchAssembler{T}"/>), waits as the <see cref="WaitPolicy{T}"/>
    /// says and hands each batch to <see cref="BatchDelivery{T}"/>. Every event's fate goes through one
    /// <see cref="DeliveryLedger{T}"/>; flushes are tracked by the <see cref="FlushTracker"/>.
    /// </summary>
    /// <typeparam name="T">The queued item, turned into JSON by an <see cref="IBentoEventFormatter{T}"/> on the loop.</typeparam>
    internal sealed class BentoPipeline<T> : IDisposable, IAsyncDisposable
    {
        /// <summary>How long disposal waits, in real time, for the loop to end after the hard stop.</summary>
        private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

        private readonly PipelineSettings _settings;
        private readonly RateLimitedReporter _reporter;
        private readonly BentoMetrics _metrics;
        private readonly BentoHttpSender _sender;
        private readonly RequestBudget _budget;
        private readonly RequestBudget.Lease _budgetLease;
        private readonly IBentoDiagnostics _diagnostics;
        private readonly DeliveryLedger<T> _ledger;
        private readonly EventQueue<T> _queue;
        private readonly FlushTracker _flushes = new FlushTracker();
        private readonly WaitPolicy<T> _waits;
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly Task _loop;
        private readonly long _pipelineNumber = ShutdownWindow.NextPipelineNumber(); // a shutdown wave takes in only pipelines built before it
        private int _shutdownStarted;
        private int _released;
        private volatile bool _closing;
        private bool _hardStopped; // the shutdown ran out of time: what was left was dropped (see ShutdownWindow)

        public BentoPipeline(PipelineSettings settings, IBentoEventFormatter<T> formatter, IBentoDiagnostics diagnostics, string pipelineName)
        {
            _settings = settings;
            _diagnostics = diagnostics;
            Counters = new PipelineCounters(settings.TimeProvider);
            _reporter = new RateLimitedReporter(diagnostics, settings.TimeProvider, settings.WarningInterval);
            _metrics = new BentoMetrics(pipelineName, () => Math.Max(0, Counters.InFlight));
            _sender = new BentoHttpSender(settings, pipelineName);
            // One budget per account in the process: pipelines that send to the same endpoint and site UUID share it.
            Account = settings.RequestUri.GetLeftPart(UriPartial.Authority) + "|" + settings.SiteUuid;
            _budgetLease = RequestBudget.Acquire(Account, settings.TimeProvider, settings.MaxRequestsPerMinute);
            _budget = _budgetLease.Budget;
            _ledger = new DeliveryLedger<T>(Counters, _metrics, _reporter);
            _queue = new EventQueue<T>(settings.QueueLimit, Wake);
            var batch = new BatchAssembler<T>(settings, formatter, _ledger, _reporter);

            IEventSource<T> source;
            DurableBuffer? buffer = null;
            if (settings.BufferDirectory != null)
            {
                // Each pipeline has its own subfolder of the directory (named for its kind); opening never throws.
                buffer = DurableBuffer.Open(settings, pipelineName);
                source = new DiskSource<T>(buffer, _queue, _flushes, _ledger, _reporter, Counters, batch, () => Urgent);
            }
            else
            {
                source = new MemorySource<T>(_queue, _flushes, _ledger);
            }
            var stopped = Task.Delay(Timeout.Infinite, _stop.Token);
            _waits = new WaitPolicy<T>(settings.TimeProvider, _queue, source, () => Urgent, stopped, _budget.ShutdownAllowance, GiveUpAtShutdown);
            var delivery = new BatchDelivery<T>(settings, _sender, _budget, _ledger, Counters, _metrics, _reporter, () => Urgent, _waits.PauseAsync, source.WhileSending, () => _waits.TimeLeft);
            if (buffer != null)
            {
                delivery.Durable = buffer;
                delivery.OnDisk = () => !batch.End.IsNone;
                buffer.Attach(_ledger.Offered, _ledger.Count, _reporter.Problem, _reporter.Information, Wake);
            }
            var loop = new DeliveryLoop<T>(settings, source, batch, delivery, _budget, _flushes, _queue, _waits, _reporter, () => Urgent);
            Counters.Health.Open(_metrics.PipelineTag); // listed in BentoDeliveryStatus until released

            // The loop must not inherit the creator's ambient state (Activity.Current, log context, baggage).
            if (ExecutionContext.IsFlowSuppressed())
            {
                _loop = Task.Run(() => loop.RunAsync(_stop.Token));
            }
            else
            {
                using (ExecutionContext.SuppressFlow()) _loop = Task.Run(() => loop.RunAsync(_stop.Token));
            }
        }

        /// <summary>The account this pipeline sends to (endpoint authority and site UUID): the key its budget and shutdown window share.</summary>
        internal string Account { get; }

        /// <summary>The pipeline's validated settings.</summary>
        internal PipelineSettings Settings => _settings;

        /// <summary>The pipeline's accounting.</summary>
        public PipelineCounters Counters { get; }

        /// <summary>The loop's current request rate limit (requests a minute), after 429 slow-downs.</summary>
        internal double CurrentRatePerMinute => _budget.CurrentRatePerMinute;

        /// <summary>Tests: the request budget (shared by the pipelines of the account in this process).</summary>
        internal RequestBudget Budget => _budget;

        /// <summary>
        /// Told about every event dropped after it reached the pipeline: <c>(reason, events, dropped)</c> (see
        /// <see cref="DeliveryLedger{T}.Listener"/>). Excluded events are not reported. Exceptions are swallowed.
        /// </summary>
        public Action<DropReason, IReadOnlyList<T>, int>? ItemsDropped
        {
            get => _ledger.Listener;
            set => _ledger.Listener = value;
        }

        /// <summary>Tests: called on the loop with a flush's target sequence number just before the flush completes.</summary>
        internal Action<long>? FlushCompleting
        {
            get => _flushes.Completing;
            set => _flushes.Completing = value;
        }

        /// <summary>Tests: whether the loop is waiting on something that has not happened yet (nothing to do at the current time).</summary>
        internal bool IsParked(out long parks) => _waits.IsParked(out parks);

        /// <summary>Tests: flushes requested and not completed yet.</summary>
        internal int FlushesWaiting => _flushes.Waiting;

        /// <summary>Tests: whether the reader loop has ended.</summary>
        internal bool LoopCompleted => _loop.IsCompleted;

        private bool Urgent => _closing || _flushes.Waiting > 0;

        /// <summary>
        /// Offers one analytics event. Never blocks and never throws: when the queue is full or the pipeline is
        /// disposed the event is dropped and counted.
        /// </summary>
        public bool TryEnqueue(T item)
        {
            _ledger.Offered();
            if (!_closing && _queue.TryWrite(item)) return true;
            _ledger.DroppedByCaller(_closing ? DropReason.Shutdown : DropReason.QueueFull, item);
            return false;
        }

        /// <summary>
        /// Admits an analytics event of <paramref name="type"/> if its type goes to Bento; otherwise counts the event as
        /// <c>excluded</c> and returns false, before the front end spends anything more on it.
        /// </summary>
        public bool AdmitType(string type)
        {
            if (_settings.IsRouted(type)) return true;
            _ledger.Offered();
            _ledger.Count(DropReason.Excluded, 1);
            return false;
        }

        /// <summary>Queues an analytics event that has an email; counts one without as <c>no_email</c> (and warns).</summary>
        public void EnqueueIfIdentified(T item, bool hasEmail)
        {
            if (hasEmail) TryEnqueue(item);
            else CountRefused(DropReason.NoEmail, item);
        }

        /// <summary>Counts an analytics event the front end refused before the queue (no email, invalid).</summary>
        public void CountRefused(DropReason reason, T item)
        {
            _ledger.Offered();
            _ledger.DroppedByCaller(reason, item);
        }

        /// <summary>
        /// Completes once every event offered before the call has settled (sent or dropped), sending what is queued
        /// without waiting for the period or the budget's spacing (a 429's <c>Retry-After</c> is still honoured).
        /// </summary>
        public Task FlushAsync(CancellationToken cancellationToken = default)
        {
            var request = _flushes.Begin();
            if (_closing) return NotQueued(cancellationToken);
            // At most MarkerRoom markers wait in the queue, so they never take the room of events; more flushes wait.
            return _flushes.TryTakeRoom() ? QueueMarker(request, cancellationToken) : FlushWhenRoomAsync(request, cancellationToken);
        }

        private Task QueueMarker(FlushRequest request, CancellationToken cancellationToken)
        {
            if (!_queue.TryWriteMarker(request))
            {
                _flushes.ReturnRoom();
                return NotQueued(cancellationToken);
            }
            Wake();
            return request.Done.Task.WaitWithCancellation(cancellationToken);
        }

        /// <summary>Disposal has begun: it settles everything before the loop ends.</summary>
        private Task NotQueued(CancellationToken cancellationToken)
        {
            _flushes.GiveUp();
            return _loop.WaitWithCancellation(cancellationToken);
        }

        /// <summary>More than <see cref="FlushTracker.MarkerRoom"/> flushes are waiting: this one waits until the loop reads a marker.</summary>
        private async Task FlushWhenRoomAsync(FlushRequest request, CancellationToken cancellationToken)
        {
            try
            {
                var room = _flushes.WaitForRoomAsync(cancellationToken);
                if (await Task.WhenAny(room, _loop).ConfigureAwait(false) != room)
                {
                    await NotQueued(cancellationToken).ConfigureAwait(false);
                    return;
                }
                await room.ConfigureAwait(false);
            }
            catch
            {
                _flushes.GiveUp();
                throw;
            }
            await QueueMarker(request, cancellationToken).ConfigureAwait(false);
        }

        public void Dispose() => ShutdownAsync(null).GetAwaiter().GetResult();

        /// <summary>Delivers what is queued within the shutdown timeout, then counts the rest as <c>shutdown</c>. Idempotent.</summary>
        public ValueTask DisposeAsync() => new ValueTask(ShutdownAsync(null));

        /// <summary>
        /// Stops accepting events and delivers what is queued, for at most <paramref name="deadline"/> (when given) and
        /// at most <c>ShutdownTimeout</c>, and at most until the deadline of the account's other pipelines stopping in the
        /// same wave (<see cref="ShutdownWindow"/>); then stops hard and counts what is left as <c>shutdown</c> (or, in
        /// durable mode, leaves it on disk as <c>deferred</c>). It stops as soon as the next request could only go after
        /// that deadline (a 429's block, a retry's backoff: see <see cref="WaitPolicy{T}.StopIfPastDeadline"/>), not at the deadline. Every call returns once the loop has ended; the earliest
        /// deadline of concurrent calls wins.
        /// </summary>
        public async Task ShutdownAsync(TimeSpan? deadline)
        {
            var timeout = _settings.ShutdownTimeout;
            if (deadline is { } d && d < timeout) timeout = d < TimeSpan.Zero ? TimeSpan.Zero : d;
            if (Interlocked.Exchange(ref _shutdownStarted, 1) == 0)
            {
                // Pipelines of one account that stop together share one deadline (see ShutdownWindow).
                timeout = ShutdownWindow.Enter(Account, _settings.TimeProvider, timeout, out var window, _pipelineNumber);
                _closing = true; // before the deadline: the loop weighs a wait against it only once it skips the budget's spacing
                _waits.SetDeadline(timeout);
                _ = _loop.ContinueWith((_, w) => ((ShutdownWindow)w!).Leave(Volatile.Read(ref _hardStopped)), window, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                _queue.Complete();
                Wake();
            }
            else
            {
                // A concurrent call with an earlier deadline: the loop gives up by the earliest.
                _waits.SetDeadline(timeout);
            }
            if (!_loop.IsCompleted)
            {
                using var cancelDelay = new CancellationTokenSource();
                var delay = _settings.TimeProvider.DelayAsync(timeout, cancelDelay.Token);
                if (await Task.WhenAny(_loop, delay).ConfigureAwait(false) != _loop)
                {
                    Volatile.Write(ref _hardStopped, true);
                    try { _stop.Cancel(); }
                    catch (Exception ex) { _reporter.Problem("stop", "Bento: stopping the delivery loop failed (" + ex.GetType().Name + ").", error: true); }
                }
                cancelDelay.Cancel();
                // After the hard stop the loop ends at once, unless user code on it blocks (a failure listener): then
                // the caller is not held past a short grace; what is left is counted, and released, when it ends.
                if (await Task.WhenAny(_loop, Task.Delay(StopGrace)).ConfigureAwait(false) != _loop)
                {
                    _reporter.Problem("stuck", "Bento: the delivery loop did not stop within " + StopGrace.TotalSeconds + " s of the hard stop (a failure listener or message handler is blocking it); disposal returns without it.", error: true);
                    _ = _loop.ContinueWith(static (_, p) => ((BentoPipeline<T>)p!).Release(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    return;
                }
            }
            Release();
        }

        /// <summary>
        /// At disposal, the wait policy found that the next request could only go after the shutdown deadline
        /// (<see cref="WaitPolicy{T}.StopIfPastDeadline"/> decides): the loop stops now instead of waiting out the deadline
        /// (a hard stop: what is left is counted <c>shutdown</c>, or in durable mode stays on disk as <c>deferred</c>).
        /// </summary>
        private void GiveUpAtShutdown(TimeSpan wait, TimeSpan left)
        {
            Volatile.Write(ref _hardStopped, true);
            _reporter.Problem("shutdown:early", "Bento: at shutdown the next request could go only in " + wait.TotalSeconds.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture)
                + " s or later, after the shutdown deadline (" + Math.Max(0, left.TotalSeconds).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture)
                + " s left): disposal stops now and counts what is left" + (_settings.BufferDirectory != null ? " (it stays in the buffer directory)." : " as shutdown."), error: false);
            try { _stop.Cancel(); }
            catch (Exception ex) { _reporter.Problem("stop", "Bento: stopping the delivery loop failed (" + ex.GetType().Name + ").", error: true); }
        }

        private void Release()
        {
            if (Interlocked.Exchange(ref _released, 1) == 1) return;
            _ledger.DrainNow();
            _reporter.FlushPending();
            // The host log is written from the pool: let the last lines out before the process may exit (not past 1 s:
            // a host logger that blocks on the thread disposing us must not hold disposal).
            (_diagnostics as HostLogDiagnostics)?.Drain(TimeSpan.FromSeconds(1));
            _reporter.Dispose();
            _sender.Dispose();
            _metrics.Dispose();
            _budgetLease.Dispose();
            Counters.Health.Close();
        }

        private void Wake() => _waits?.Wake();
    }
}
