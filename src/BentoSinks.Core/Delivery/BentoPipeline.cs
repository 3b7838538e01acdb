using System;
using System.Collections.Generic;
using System.Text.Json;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using BentoSinks.Diagnostics;
using BentoSinks.Durable;
using BentoSinks.Json;

namespace BentoSinks.Delivery
{
    /// <summary>
    /// One delivery pipeline, shared by the Serilog sink and the OpenTelemetry exporter. The application's threads only
    /// <see cref="TryEnqueue"/> into a channel bounded by <c>QueueLimit</c>; one reader loop serializes events into a
    /// <see cref="Batch"/> (by count, by bytes, or for at most <c>Period</c>), spends the client-side request budget and
    /// hands the batch to <see cref="BatchDelivery{T}"/>. Every event's fate goes through one <see cref="DeliveryLedger{T}"/>.
    /// </summary>
    /// <remarks>
    /// Flushes are tracked by order, not by count: a flush puts a marker in the channel; when the loop reads it, the
    /// marker's target is the sequence number of the last event read before it, and the flush completes once no event
    /// at or before the target is still held (in the batch or held over for the next one).
    /// </remarks>
    /// <typeparam name="T">The queued item, turned into JSON by an <see cref="IBentoEventFormatter{T}"/> on the reader loop.</typeparam>
    internal sealed class BentoPipeline<T> : IDisposable, IAsyncDisposable
    {
        private const int ScratchKeepBytes = 64 * 1024;

        /// <summary>Room in the channel beyond <c>QueueLimit</c> for flush markers; a flush that finds none waits for room.</summary>
        private const int MarkerRoom = 1024;

        /// <summary>How long disposal waits, in real time, for the loop to end after the hard stop.</summary>
        private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

        private readonly PipelineSettings _settings;
        private readonly IBentoEventFormatter<T> _formatter;
        private readonly Channel<Entry> _channel;
        private readonly RateLimitedReporter _reporter;
        private readonly BentoMetrics _metrics;
        private readonly BentoHttpSender _sender;
        private readonly RequestBudget _budget;
        private readonly RequestBudget.Lease _budgetLease;
        private readonly string _account;
        private readonly IBentoDiagnostics _diagnostics;
        private readonly DeliveryLedger<T> _ledger;
        private readonly BatchDelivery<T> _delivery;
        private readonly DurableBuffer? _durable; // BufferDirectory set: events go through disk (see Spool)
        private Task? _commitTimer; // durable: real time, brings the loop back for a group commit
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly Task _stopped;
        private readonly Task _loop;
        private int _queued;
        private readonly SemaphoreSlim _markerRoom = new SemaphoreSlim(MarkerRoom);
        private int _wakeAtQueued = int.MaxValue;
        private int _flushesWaiting;
        private int _shutdownStarted;
        private int _released;
        private volatile bool _closing;
        private bool _hardStopped; // the shutdown ran out of time: what was left was dropped (see ShutdownWindow)
        private TaskCompletionSource<bool> _wake = NewSignal();

        // Reader loop state: only the loop touches these.
        private readonly Batch _batch;
        private readonly List<T> _items = new List<T>();
        private readonly Queue<FlushRequest> _flushes = new Queue<FlushRequest>();
        private PooledBufferWriter _scratch = new PooledBufferWriter(16 * 1024);
        private PooledBufferWriter _heldBytes = new PooledBufferWriter(1024);
        private readonly Utf8JsonWriter _writer;
        private long _readSequence;
        private long _batchFirstSequence;
        private long _batchStarted;
        private bool _hasHeld;
        private bool _deliveryBegun; // the batch was handed to _delivery: once its work is empty it must be cleared, never resent
        private T _heldItem = default!;
        private long _heldSequence;
        private BufferPosition _heldEnd = BufferPosition.None;
        private BufferPosition _batchEnd = BufferPosition.None; // durable: acknowledged once the batch has settled
        private readonly List<int> _batchFromMemory = new List<int>(); // durable: indexes of events kept in memory after a disk failure
        private Task<bool>? _readWait;
        private Task? _delayTask;
        private long _delayTarget;
        private CancellationTokenSource? _delayCts;

        // What the loop is waiting on, for tests that drive a fake clock (see IsParked).
        private Task? _parkedOn;
        private bool _parkedReading;
        private bool _parkedWakeable;
        private long _parks;

        public BentoPipeline(PipelineSettings settings, IBentoEventFormatter<T> formatter, IBentoDiagnostics diagnostics, string pipelineName)
        {
            _settings = settings;
            _formatter = formatter;
            _diagnostics = diagnostics;
            // First: a directory locked by another process must fail the build of the sink before anything else starts.
            if (settings.BufferDirectory != null) _durable = DurableBuffer.Open(settings);
            // QueueLimit is enforced by _queued, so events never take the room kept for flush markers. A bounded channel
            // stores entries in one ring buffer that is reused, where an unbounded one allocates a new, ever larger
            // segment (up to a million entries) each time the last one fills: about 24 B an event, and megabytes held.
            _channel = Channel.CreateBounded<Entry>(new BoundedChannelOptions((int)Math.Min(int.MaxValue, (long)settings.QueueLimit + MarkerRoom))
            {
                SingleReader = true,
                SingleWriter = false,
                AllowSynchronousContinuations = false,
                FullMode = BoundedChannelFullMode.Wait,
            });
            Counters = new PipelineCounters(settings.TimeProvider);
            _reporter = new RateLimitedReporter(diagnostics, settings.TimeProvider, settings.WarningInterval);
            _metrics = new BentoMetrics(pipelineName, () => Math.Max(0, Counters.InFlight));
            _sender = new BentoHttpSender(settings, pipelineName);
            // One budget per account in the process: pipelines that send to the same endpoint and site UUID share it.
            _account = settings.RequestUri.GetLeftPart(UriPartial.Authority) + "|" + settings.SiteUuid;
            _budgetLease = RequestBudget.Acquire(_account, settings.TimeProvider, settings.MaxRequestsPerMinute);
            _budget = _budgetLease.Budget;
            _ledger = new DeliveryLedger<T>(Counters, _metrics, _reporter);
            _delivery = new BatchDelivery<T>(settings, _sender, _budget, _ledger, Counters, _metrics, _reporter, () => Urgent, _durable is null ? ParkAsync : PauseAsync);
            if (_durable != null)
            {
                _delivery.Durable = _durable;
                _delivery.OnDisk = () => !_batchEnd.IsNone;
                _delivery.WhileSending = SpoolWhileSendingAsync;
                _durable.Attach(_ledger.Offered, _ledger.Count, _reporter.Problem, Wake);
            }
            _batch = new Batch(settings.SiteUuid);
            _writer = new Utf8JsonWriter(_scratch, BentoJson.WriterOptions);
            _stopped = Task.Delay(Timeout.Infinite, _stop.Token);
            Counters.Health.Open(_metrics.PipelineTag); // listed in BentoDeliveryStatus until released

            // The loop must not inherit the creator's ambient state (Activity.Current, log context, baggage).
            if (ExecutionContext.IsFlowSuppressed())
            {
                _loop = Task.Run(RunAsync);
            }
            else
            {
                using (ExecutionContext.SuppressFlow()) _loop = Task.Run(RunAsync);
            }
        }

        /// <summary>The account this pipeline sends to (endpoint authority and site UUID): the key its budget and shutdown window share.</summary>
        internal string Account => _account;

        /// <summary>The pipeline's validated settings.</summary>
        internal PipelineSettings Settings => _settings;

        /// <summary>The pipeline's accounting.</summary>
        public PipelineCounters Counters { get; }

        /// <summary>The loop's current request rate limit (requests a minute), after 429 slow-downs.</summary>
        internal double CurrentRatePerMinute => _budget.CurrentRatePerMinute;

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
        internal Action<long>? FlushCompleting { get; set; }

        /// <summary>Tests: whether the loop is waiting on something that has not happened yet (nothing to do at the current time).</summary>
        internal bool IsParked(out long parks)
        {
            parks = Volatile.Read(ref _parks);
            var on = Volatile.Read(ref _parkedOn);
            if (on is null || on.IsCompleted) return false;
            if (Volatile.Read(ref _parkedReading) && _channel.Reader.TryPeek(out _)) return false;
            if (Volatile.Read(ref _parkedWakeable) && Volatile.Read(ref _wake).Task.IsCompleted) return false;
            return Volatile.Read(ref _parks) == parks;
        }

        /// <summary>Tests: flushes requested and not completed yet.</summary>
        internal int FlushesWaiting => Volatile.Read(ref _flushesWaiting);

        /// <summary>Tests: whether the reader loop has ended.</summary>
        internal bool LoopCompleted => _loop.IsCompleted;

        private bool Urgent => _closing || Volatile.Read(ref _flushesWaiting) > 0;

        /// <summary>
        /// Offers one analytics event. Never blocks and never throws: when the queue is full or the pipeline is
        /// disposed the event is dropped and counted.
        /// </summary>
        public bool TryEnqueue(T item)
        {
            _ledger.Offered();
            // A plain read first: a full queue (overload) must not cost two contended atomic operations per event.
            if (!_closing && Volatile.Read(ref _queued) < _settings.QueueLimit)
            {
                var queued = Interlocked.Increment(ref _queued);
                if (queued <= _settings.QueueLimit && _channel.Writer.TryWrite(new Entry(item, null)))
                {
                    // The loop waits for a batch to fill without reading each event: wake it once there are enough.
                    if (queued >= Volatile.Read(ref _wakeAtQueued)) Wake();
                    return true;
                }
                Interlocked.Decrement(ref _queued);
            }
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
            var request = new FlushRequest();
            Interlocked.Increment(ref _flushesWaiting);
            if (_closing) return NotQueued(cancellationToken);
            // At most MarkerRoom markers wait in the channel, so they never take the room of events; more flushes wait.
            return _markerRoom.Wait(0, CancellationToken.None) ? QueueMarker(request, cancellationToken) : FlushWhenRoomAsync(request, cancellationToken);
        }

        private Task QueueMarker(FlushRequest request, CancellationToken cancellationToken)
        {
            if (!_channel.Writer.TryWrite(new Entry(default!, request)))
            {
                _markerRoom.Release();
                return NotQueued(cancellationToken);
            }
            Wake();
            return request.Done.Task.WaitWithCancellation(cancellationToken);
        }

        /// <summary>Disposal has begun: it settles everything before the loop ends.</summary>
        private Task NotQueued(CancellationToken cancellationToken)
        {
            Interlocked.Decrement(ref _flushesWaiting);
            return _loop.WaitWithCancellation(cancellationToken);
        }

        /// <summary>More than <see cref="MarkerRoom"/> flushes are waiting: this one waits until the loop reads a marker.</summary>
        private async Task FlushWhenRoomAsync(FlushRequest request, CancellationToken cancellationToken)
        {
            try
            {
                var room = _markerRoom.WaitAsync(cancellationToken);
                if (await Task.WhenAny(room, _loop).ConfigureAwait(false) != room)
                {
                    await NotQueued(cancellationToken).ConfigureAwait(false);
                    return;
                }
                await room.ConfigureAwait(false);
            }
            catch
            {
                Interlocked.Decrement(ref _flushesWaiting);
                throw;
            }
            await QueueMarker(request, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>The loop took a flush marker out of the channel: room for another.</summary>
        private FlushRequest MarkerRead(FlushRequest flush)
        {
            _markerRoom.Release();
            return flush;
        }

        public void Dispose() => ShutdownAsync(null).GetAwaiter().GetResult();

        /// <summary>Delivers what is queued within the shutdown timeout, then counts the rest as <c>shutdown</c>. Idempotent.</summary>
        public ValueTask DisposeAsync() => new ValueTask(ShutdownAsync(null));

        /// <summary>
        /// Stops accepting events and delivers what is queued, for at most <paramref name="deadline"/> (when given) and
        /// at most <c>ShutdownTimeout</c>, and at most until the deadline of the account's other pipelines stopping at the
        /// same time (<see cref="ShutdownWindow"/>); then stops hard and counts what is left as <c>shutdown</c>. Every call
        /// returns once the loop has ended; the earliest deadline of concurrent calls wins.
        /// </summary>
        public async Task ShutdownAsync(TimeSpan? deadline)
        {
            var timeout = _settings.ShutdownTimeout;
            if (deadline is { } d && d < timeout) timeout = d < TimeSpan.Zero ? TimeSpan.Zero : d;
            if (Interlocked.Exchange(ref _shutdownStarted, 1) == 0)
            {
                // Pipelines of one account that stop together share one deadline (see ShutdownWindow).
                timeout = ShutdownWindow.Enter(_account, _settings.TimeProvider, timeout, out var window);
                _ = _loop.ContinueWith((_, w) => ((ShutdownWindow)w!).Leave(Volatile.Read(ref _hardStopped)), window, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                _closing = true;
                _channel.Writer.TryComplete();
                Wake();
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

        private static TaskCompletionSource<bool> NewSignal() => new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        private void Wake() => Volatile.Read(ref _wake).TrySetResult(true);

        private async Task RunAsync()
        {
            var stop = _stop.Token;
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
                        var delivering = _delivery.InProgress;
                        var delay = delivering ? _delivery.OnUnexpectedFailure(_items) : RetrySchedule.BaseBackoff;
                        if (_deliveryBegun && !_delivery.InProgress)
                        {
                            // Every event of the batch has settled (perhaps just before the exception): never resend it.
                            AcknowledgeBatch();
                            ClearBatch();
                            CompleteFlushes();
                        }
                        try { await ParkAsync(delay ?? TimeSpan.Zero, false, stop).ConfigureAwait(false); }
                        catch (OperationCanceledException) { break; }
                    }
                }
            }
            finally
            {
                SettleEverythingLeft();
            }
        }

        /// <summary>One turn of the loop; false once the pipeline is closed and everything has settled.</summary>
        private async Task<bool> StepAsync(CancellationToken stop)
        {
            // Take the wake signal before looking at the state, so that a wake raised after this point is not lost.
            if (Volatile.Read(ref _wake).Task.IsCompleted) Volatile.Write(ref _wake, NewSignal());
            if (_durable != null) Spool();

            if (!_delivery.InProgress)
            {
                PlaceHeldOver();
                Fill();
                CompleteFlushes();
            }

            if (_batch.Count == 0)
            {
                // Durable mode: records whose read failed wait for the next attempt (the buffer wakes the loop for it).
                if (_channel.Reader.Completion.IsCompleted && !(_durable?.ReadBackingOff ?? false)) return false;
                ReleaseIdleMemory();
                await ParkAsync(null, read: true, wakeable: true, stop).ConfigureAwait(false);
                return true;
            }

            if (!_delivery.InProgress)
            {
                var full = _hasHeld || _batch.Count >= _settings.BatchSizeLimit;
                var urgent = Urgent;
                if (!full && !urgent)
                {
                    var due = _settings.Period - _settings.TimeProvider.GetElapsedTime(_batchStarted);
                    if (due > TimeSpan.Zero)
                    {
                        await ParkFillingAsync(due, stop).ConfigureAwait(false);
                        return true;
                    }
                }

                // While the budget is spent, the batch keeps filling (unless full): requests get fuller, not more frequent.
                var wait = _budget.TryTake(honourSpacing: !urgent, full: full);
                if (wait > TimeSpan.Zero)
                {
                    if (full) await ParkAsync(wait, read: false, wakeable: true, stop).ConfigureAwait(false);
                    else await ParkFillingAsync(wait, stop).ConfigureAwait(false);
                    return true;
                }
                _delivery.Begin(_batch.Count);
                _deliveryBegun = true;
            }

            // One request at a time. (Filling a second batch while a request is on the wire was measured slower end to
            // end on 2 cores: see benchmarks/README.md.)
            await _delivery.RunAsync(_batch, _items, stop).ConfigureAwait(false);
            AcknowledgeBatch();
            ClearBatch();
            CompleteFlushes();
            return true;
        }

        /// <summary>Moves the event held over from the last batch (it did not fit) into the empty batch.</summary>
        private void PlaceHeldOver()
        {
            if (!_hasHeld || _batch.Count != 0) return;
            if (_durable != null && _heldEnd.IsNone) _batchFromMemory.Add(0);
            AddToBatch(_heldBytes.WrittenSpan, _heldItem, _heldSequence);
            if (!_heldEnd.IsNone) _batchEnd = _heldEnd;
            _heldBytes.Clear();
            _heldItem = default!;
            _hasHeld = false;
        }

        /// <summary>Reads, serializes and adds events until the batch is full, an event must wait for the next batch, or the channel is empty.</summary>
        private void Fill()
        {
            if (_durable != null)
            {
                FillFromBuffer();
                return;
            }
            while (!_hasHeld && _batch.Count < _settings.BatchSizeLimit && _channel.Reader.TryRead(out var entry))
            {
                if (entry.Flush != null)
                {
                    entry.Flush.Target = _readSequence;
                    _flushes.Enqueue(MarkerRead(entry.Flush));
                    continue;
                }
                Interlocked.Decrement(ref _queued);
                var sequence = ++_readSequence;
                var item = entry.Item;
                if (!Serialize(item)) continue;

                var length = _scratch.WrittenCount;
                if (_batch.SingleEventBodyLength(length) > _settings.MaxRequestBytes)
                {
                    _ledger.Dropped(DropReason.TooLarge, item);
                    _scratch.Clear();
                    _scratch.TrimIfLargerThan(ScratchKeepBytes);
                    continue;
                }
                if (_batch.Count > 0 && _batch.BodyLengthWith(length) > _settings.MaxRequestBytes)
                {
                    // It opens the next batch: keep its bytes by swapping buffers (no copy).
                    var bytes = _heldBytes;
                    _heldBytes = _scratch;
                    _scratch = bytes;
                    _scratch.Clear();
                    _heldItem = item;
                    _heldSequence = sequence;
                    _hasHeld = true;
                    return;
                }
                AddToBatch(_scratch.WrittenSpan, item, sequence);
            }
        }

        private void AddToBatch(ReadOnlySpan<byte> json, T item, long sequence)
        {
            if (_batch.Count == 0)
            {
                _batchFirstSequence = sequence;
                _batchStarted = _settings.TimeProvider.GetTimestamp();
            }
            _batch.Add(json);
            _items.Add(item);
        }

        private void ClearBatch()
        {
            _batch.Clear();
            _items.Clear();
            _deliveryBegun = false;
            _batchEnd = BufferPosition.None;
            _batchFromMemory.Clear();
        }

        /// <summary>Completes the flushes whose events have all settled: none at or before their target is still held.</summary>
        private void CompleteFlushes()
        {
            var oldestHeld = _batch.Count > 0 ? _batchFirstSequence : _hasHeld ? _heldSequence : long.MaxValue;
            if (_durable != null) oldestHeld = Math.Min(oldestHeld, _durable.OldestUnreadSequence);
            while (_flushes.Count > 0 && _flushes.Peek().Target < oldestHeld)
                CompleteFlush(_flushes.Dequeue());
        }

        private void CompleteFlush(FlushRequest flush)
        {
            try { FlushCompleting?.Invoke(flush.Target); }
            catch { /* a test hook */ }
            Interlocked.Decrement(ref _flushesWaiting);
            flush.Done.TrySetResult(true);
        }

        private void ReleaseIdleMemory()
        {
            _batch.ReleaseMemory();
            if (!_hasHeld) _heldBytes.TrimIfLargerThan(ScratchKeepBytes);
            _scratch.Clear();
            _scratch.TrimIfLargerThan(ScratchKeepBytes);
            // The delay timer of the last batch is not needed while idle.
            _delayCts?.Cancel();
            _delayCts?.Dispose();
            _delayCts = null;
            _delayTask = null;
        }

        /// <summary>When the loop ends (closed, or stopped hard): everything still held is counted once, as shutdown.</summary>
        private void SettleEverythingLeft()
        {
            var left = new List<T>();
            try
            {
                if (_durable != null)
                {
                    SettleDurable();
                    return;
                }
                if (_delivery.InProgress) _delivery.DropRemaining(_items, DropReason.Shutdown);
                else if (!_deliveryBegun) left.AddRange(_items); // a begun batch with no work left has settled
                ClearBatch();
                if (_hasHeld) left.Add(_heldItem);
                _hasHeld = false;
                _closing = true;
                _channel.Writer.TryComplete();
                while (_channel.Reader.TryRead(out var entry))
                {
                    if (entry.Flush != null) { _flushes.Enqueue(MarkerRead(entry.Flush)); continue; }
                    Interlocked.Decrement(ref _queued);
                    left.Add(entry.Item);
                }
                if (left.Count > 0) _ledger.Dropped(DropReason.Shutdown, left);
            }
            catch (Exception ex)
            {
                _reporter.Problem("settle", "Bento: error while counting undelivered events at shutdown (" + ex.GetType().Name + ").", error: true);
            }
            finally
            {
                while (_flushes.Count > 0) CompleteFlush(_flushes.Dequeue());
                _batch.Dispose();
                _writer.Dispose();
                _scratch.Dispose();
                _heldBytes.Dispose();
                _delayCts?.Cancel();
                _delayCts?.Dispose();
            }
        }

        // ----- Durable mode (BufferDirectory): the channel is spooled to disk, batches are read back from it. -----

        /// <summary>
        /// Durable mode: reads the channel (as <see cref="Fill"/> does), serializes each event and appends it to the buffer,
        /// then writes the group to the OS in one commit. Returns how many events were read.
        /// </summary>
        private int Spool(int max = 4096, bool commitNow = false)
        {
            var durable = _durable!;
            var read = 0;
            while (read < max && _channel.Reader.TryRead(out var entry))
            {
                if (entry.Flush != null)
                {
                    entry.Flush.Target = _readSequence;
                    _flushes.Enqueue(MarkerRead(entry.Flush));
                    continue;
                }
                Interlocked.Decrement(ref _queued);
                read++;
                var item = entry.Item;
                if (!Serialize(item)) continue;
                if (_batch.SingleEventBodyLength(_scratch.WrittenCount) > _settings.MaxRequestBytes)
                {
                    _ledger.Dropped(DropReason.TooLarge, item);
                    _scratch.Clear();
                    _scratch.TrimIfLargerThan(ScratchKeepBytes);
                    continue;
                }
                // Numbered only once it is written: the records on disk are numbered one by one, so a damaged region
                // is counted by the gap in the numbers around it. (A dropped event settles at once: no flush waits on it.)
                var sequence = ++_readSequence;
                durable.Append(_scratch.WrittenSpan, sequence);
            }
            durable.CommitIfDue(commitNow || Urgent);
            return read;
        }

        /// <summary>Durable mode: fills the batch from the buffer (records earlier processes left come first).</summary>
        private void FillFromBuffer()
        {
            var durable = _durable!;
            while (!_hasHeld && _batch.Count < _settings.BatchSizeLimit && durable.TryPeek(out var json, out var sequence, out var end))
            {
                if (_batch.SingleEventBodyLength(json.Length) > _settings.MaxRequestBytes)
                {
                    // Written by a process with a larger MaxRequestBytes.
                    durable.Consume();
                    _ledger.Count(DropReason.TooLarge, 1);
                    continue;
                }
                if (_batch.Count > 0 && _batch.BodyLengthWith(json.Length) > _settings.MaxRequestBytes)
                {
                    _heldBytes.Clear();
                    _heldBytes.Write(json);
                    _heldItem = default!;
                    _heldSequence = sequence;
                    _heldEnd = end;
                    _hasHeld = true;
                    durable.Consume();
                    return;
                }
                if (end.IsNone) _batchFromMemory.Add(_batch.Count);
                AddToBatch(json, default!, sequence);
                if (!end.IsNone) _batchEnd = end;
                durable.Consume();
            }
        }

        /// <summary>Durable mode: Bento has settled the batch, so the buffer's read position moves past it.</summary>
        private void AcknowledgeBatch()
        {
            if (_durable != null && !_batchEnd.IsNone) _durable.Acknowledge(_batchEnd);
        }

        /// <summary>Durable mode: retry and budget waits keep writing new events to disk, so none waits in memory for long.</summary>
        private async Task PauseAsync(TimeSpan delay, bool wakeable, CancellationToken stop)
        {
            var time = _settings.TimeProvider;
            var started = time.GetTimestamp();
            while (true)
            {
                var left = delay - time.GetElapsedTime(started);
                if (left <= TimeSpan.Zero) return;
                await ParkAsync(left, read: true, wakeable, stop).ConfigureAwait(false);
                Spool();
                // A flush or disposal cuts a wakeable wait short, as without the buffer; a retry's backoff is kept.
                if (wakeable && Urgent) return;
            }
        }

        /// <summary>Durable mode: while a request is on the wire, new events are still written to disk as they come.</summary>
        private async Task SpoolWhileSendingAsync(Task sending, CancellationToken stop)
        {
            while (!sending.IsCompleted)
            {
                var readable = ReadWait(stop);
                if (readable.IsCompleted && !_channel.Reader.TryPeek(out _)) return; // completed and drained
                if (_durable!.HasPending) await Task.WhenAny(sending, readable, CommitTimer()).ConfigureAwait(false);
                else await Task.WhenAny(sending, readable).ConfigureAwait(false);
                Spool();
            }
        }

        /// <summary>
        /// Durable mode, when the loop ends: what is queued goes to disk, and what is on disk (the batch in hand included)
        /// stays there for the next process, counted as deferred rather than dropped; what is on no disk (kept in memory
        /// after a disk failure) is dropped as shutdown.
        /// </summary>
        private void SettleDurable()
        {
            var durable = _durable!;
            _closing = true;
            _channel.Writer.TryComplete();
            try
            {
                while (Spool(int.MaxValue, commitNow: true) > 0) { }
                // Events kept in memory after the disk failed cannot outlive the process, the batch's and the held one's too.
                var fromMemory = _delivery.InProgress || !_deliveryBegun ? _delivery.Abandon(_batchFromMemory, _batch.Count) : 0;
                if (_hasHeld && _heldEnd.IsNone) fromMemory++;
                fromMemory += durable.InMemory;
                ClearBatch();
                _hasHeld = false;
                if (fromMemory > 0) _ledger.Count(DropReason.Shutdown, fromMemory);
            }
            finally
            {
                durable.Dispose();
            }
            var deferred = Counters.InFlight;
            if (deferred > 0)
            {
                Counters.AddDeferred(deferred);
                _reporter.Problem("buffer:deferred", "Bento: " + deferred + " undelivered events stay in the buffer directory; the next process on it sends them first.", error: false);
            }
        }

        /// <summary>Durable mode: a real-time timer for the pending group commit (the fake clock of tests does not move it).</summary>
        private Task CommitTimer()
        {
            if (_commitTimer is null || _commitTimer.IsCompleted)
                _commitTimer = Task.Delay(_durable!.CommitDueIn + TimeSpan.FromMilliseconds(1));
            return _commitTimer;
        }

        private bool Serialize(T item)
        {
            _scratch.Clear();
            _writer.Reset(_scratch);
            try
            {
                if (_formatter.TryWriteEvent(_writer, item, out var reason))
                {
                    _writer.Flush();
                    if (_writer.CurrentDepth == 0 && _writer.BytesCommitted > 0) return true;
                    reason = "the formatter left an incomplete JSON object";
                }
                if (reason != null) _reporter.Problem("invalid:" + reason, "Bento: dropped an invalid event: " + reason + ".", error: false);
            }
            catch (Exception ex)
            {
                _reporter.Problem("format:" + ex.GetType().Name, "Bento: dropped an event that could not be written as JSON (" + ex.GetType().Name + ").", error: false);
            }
            _ledger.Dropped(DropReason.Invalid, item);
            _scratch.Clear();
            return false;
        }

        private Task ParkAsync(TimeSpan delay, bool wakeable, CancellationToken stop) => ParkAsync(delay, read: false, wakeable, stop);

        /// <summary>
        /// Waits until the stop, and (as asked) the delay, an event to read, or a wake (a flush, disposal). Throws
        /// <see cref="OperationCanceledException"/> on the stop.
        /// </summary>
        /// <summary>
        /// Waits while a batch that is not full fills: until <paramref name="delay"/>, a wake (flush, shutdown), or enough
        /// events queued to fill the batch or half the queue. The loop does not wake for every event: on a busy app that
        /// would cost a thread-pool hop and a core per event, and requests would not get any fuller.
        /// </summary>
        private async Task ParkFillingAsync(TimeSpan delay, CancellationToken stop)
        {
            if (_durable != null)
            {
                // Durable mode writes each event ahead to disk within its commit window: read them as they come.
                await ParkAsync(delay, read: true, wakeable: true, stop).ConfigureAwait(false);
                return;
            }
            // Enough to fill the batch: by count, and by bytes at the batch's average event size so far (large events
            // fill a request long before 1,000 of them), or half the queue.
            var fitting = _settings.BatchSizeLimit - _batch.Count;
            if (_batch.Count > 0)
            {
                var average = Math.Max(1, (_batch.BodyLength - _batch.SingleEventBodyLength(0)) / _batch.Count);
                var roomBytes = _settings.MaxRequestBytes - _batch.BodyLength;
                fitting = (int)Math.Min(fitting, Math.Max(1, roomBytes / average));
            }
            var threshold = Math.Max(1, Math.Min(fitting, _settings.QueueLimit / 2));
            // A full fence: the read of _queued below must not move before this write (writers increment, then read it).
            Interlocked.Exchange(ref _wakeAtQueued, threshold);
            try
            {
                // A writer that looked at the threshold before it was set did not wake the loop: look at the queue now.
                // If the count is reached but the channel is still empty, a writer is between counting and writing: wait
                // for its event to arrive rather than spin.
                var reached = Volatile.Read(ref _queued) >= threshold;
                if (reached && _channel.Reader.TryPeek(out _)) return;
                await ParkAsync(delay, read: reached, wakeable: true, stop).ConfigureAwait(false);
            }
            finally
            {
                Volatile.Write(ref _wakeAtQueued, int.MaxValue);
            }
        }

        private async Task ParkAsync(TimeSpan? delay, bool read, bool wakeable, CancellationToken stop)
        {
            stop.ThrowIfCancellationRequested();
            var waits = new List<Task>(4) { _stopped };
            // Once the channel is completed and drained, "wait to read" returns at once: waiting on it would spin.
            read = read && !_channel.Reader.Completion.IsCompleted;
            if (read) waits.Add(ReadWait(stop));
            if (wakeable)
            {
                var wake = Volatile.Read(ref _wake);
                if (wake.Task.IsCompleted)
                {
                    // A wake already raised is taken now: the caller looks at the state again (it changed before the
                    // wake was raised), and the next wait needs a fresh signal, or it would return at once forever.
                    Volatile.Write(ref _wake, NewSignal());
                    return;
                }
                waits.Add(wake.Task);
            }
            if (delay is { } d) waits.Add(DelayFor(d, stop));
            if (_durable != null && _durable.HasPending) waits.Add(CommitTimer());
            var any = Task.WhenAny(waits);
            Volatile.Write(ref _parkedReading, read);
            Volatile.Write(ref _parkedWakeable, wakeable);
            Volatile.Write(ref _parkedOn, any);
            Interlocked.Increment(ref _parks);
            try
            {
                await any.ConfigureAwait(false);
            }
            finally
            {
                Volatile.Write(ref _parkedOn, null);
            }
            stop.ThrowIfCancellationRequested();
        }

        private Task<bool> ReadWait(CancellationToken stop)
        {
            var wait = _readWait;
            if (wait is null || wait.IsCompleted)
            {
                wait = _channel.Reader.WaitToReadAsync(stop).AsTask();
                _readWait = wait;
            }
            return wait;
        }

        /// <summary>A delay on the pipeline's clock, reused while its target stays the same (the loop wakes often while a batch fills).</summary>
        private Task DelayFor(TimeSpan delay, CancellationToken stop)
        {
            var time = _settings.TimeProvider;
            // Whole milliseconds, rounded up: a sub-millisecond wait must not round to zero and spin.
            var ms = Math.Ceiling(delay.TotalMilliseconds);
            if (ms < 1) ms = 1;
            delay = TimeSpan.FromMilliseconds(ms);
            var target = time.GetTimestamp() + (long)(delay.TotalSeconds * time.TimestampFrequency);
            var tolerance = time.TimestampFrequency / 1000;
            if (_delayTask != null && !_delayTask.IsCompleted && Math.Abs(_delayTarget - target) <= tolerance) return _delayTask;
            _delayCts?.Cancel();
            _delayCts?.Dispose();
            _delayCts = CancellationTokenSource.CreateLinkedTokenSource(stop);
            _delayTarget = target;
            _delayTask = time.DelayAsync(delay, _delayCts.Token);
            return _delayTask;
        }

        private readonly struct Entry
        {
            public Entry(T item, FlushRequest? flush)
            {
                Item = item;
                Flush = flush;
            }

            public T Item { get; }
            public FlushRequest? Flush { get; }
        }

        private sealed class FlushRequest
        {
            public readonly TaskCompletionSource<bool> Done = NewSignal();

            /// <summary>The sequence number of the last event read before the marker: the flush waits for it and all before it.</summary>
            public long Target;
        }
    }
}
