using System;
using System.Collections.Generic;
using System.Text.Json;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using BentoSinks.Diagnostics;
using BentoSinks.Json;

namespace BentoSinks.Delivery
{
    /// <summary>
    /// One delivery pipeline, shared by the Serilog sink and the OpenTelemetry exporter: the application's threads only
    /// <see cref="TryEnqueue"/> into a bounded channel; one reader loop serializes events, fills batches (by count, by
    /// bytes, or for at most <c>Period</c>), spends the client-side request budget, posts to Bento and retries.
    /// </summary>
    /// <typeparam name="T">The queued item, turned into JSON by an <see cref="IBentoEventFormatter{T}"/> on the reader loop.</typeparam>
    internal sealed class BentoPipeline<T> : IDisposable, IAsyncDisposable
    {
        private static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(1);
        private static readonly TimeSpan BaseBackoff = TimeSpan.FromSeconds(1);
        private static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(50);

        private readonly PipelineSettings _settings;
        private readonly IBentoEventFormatter<T> _formatter;
        private readonly Channel<T> _channel;
        private readonly RateLimitedReporter _reporter;
        private readonly BentoMetrics _metrics;
        private readonly BentoHttpSender _sender;
        private readonly RequestBudget _budget;
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly object _flushGate = new object();
        private readonly List<(long Target, TaskCompletionSource<bool> Done)> _flushWaiters = new List<(long, TaskCompletionSource<bool>)>();
        private readonly Queue<long> _recentRequests = new Queue<long>();
        private readonly Random _jitter = new Random();
        private readonly Task _loop;

        private TaskCompletionSource<bool> _wake = NewSignal();
        private long _enqueued;
        private long _settled;
        private long _flushTarget;
        private int _disposed;
        private volatile bool _closing;
        private Task<bool>? _readWait;
        private Task? _delayTask;
        private long _delayTarget;
        private CancellationTokenSource? _delayCts;

        /// <summary>
        /// Told about every item dropped after it reached the pipeline, with the items (a Serilog failure listener
        /// forwards them to a fallback sink). Excluded events are not reported. Must not throw; exceptions are swallowed.
        /// </summary>
        public Action<DropReason, IReadOnlyList<T>>? ItemsDropped { get; set; }

        public BentoPipeline(PipelineSettings settings, IBentoEventFormatter<T> formatter, IBentoDiagnostics diagnostics, string pipelineName)
        {
            _settings = settings;
            _formatter = formatter;
            _channel = Channel.CreateBounded<T>(new BoundedChannelOptions(settings.QueueLimit)
            {
                FullMode = BoundedChannelFullMode.Wait, // TryWrite returns false when full: we count the drop
                SingleReader = true,
                SingleWriter = false,
                AllowSynchronousContinuations = false,
            });
            Counters = new PipelineCounters();
            _reporter = new RateLimitedReporter(diagnostics, settings.TimeProvider, settings.WarningInterval);
            _metrics = new BentoMetrics(pipelineName, () => Math.Max(0, Volatile.Read(ref _enqueued) - Volatile.Read(ref _settled)));
            _sender = new BentoHttpSender(settings, pipelineName);
            _budget = new RequestBudget(settings.TimeProvider, settings.MaxRequestsPerMinute);

            // The loop must not inherit the creator's ambient state (Activity.Current, log context, baggage).
            using (ExecutionContext.SuppressFlow())
            {
                _loop = Task.Run(RunAsync);
            }
        }

        /// <summary>The pipeline's accounting.</summary>
        public PipelineCounters Counters { get; }

        /// <summary>The loop's current request rate limit (requests a minute), after 429 slow-downs.</summary>
        internal double CurrentRatePerMinute => _budget.CurrentRatePerMinute;

        /// <summary>
        /// Offers one analytics event. Never blocks and never throws: when the queue is full or the pipeline is
        /// disposed the event is dropped and counted.
        /// </summary>
        public bool TryEnqueue(T item)
        {
            Counters.AddOffered();
            try
            {
                if (_channel.Writer.TryWrite(item))
                {
                    Interlocked.Increment(ref _enqueued);
                    return true;
                }
            }
            catch
            {
                // TryWrite does not throw; this guards the caller regardless.
            }
            Drop(_closing ? DropReason.Shutdown : DropReason.QueueFull, 1);
            NotifyDropped(_closing ? DropReason.Shutdown : DropReason.QueueFull, item);
            return false;
        }

        /// <summary>
        /// Whether analytics events of <paramref name="type"/> go to Bento; an excluded one is counted (<c>excluded</c>)
        /// and false returned, before the front end spends anything more on it.
        /// </summary>
        public bool Routes(string type)
        {
            if (_settings.IsRouted(type)) return true;
            Reject(DropReason.Excluded, default!);
            return false;
        }

        /// <summary>Queues an analytics event, or counts it as <c>no_email</c> (and warns) when it has no email.</summary>
        public void Offer(T item, bool hasEmail)
        {
            if (hasEmail) TryEnqueue(item);
            else Reject(DropReason.NoEmail, item);
        }

        /// <summary>Counts an analytics event the front end refused before the queue (no email, excluded type, invalid).</summary>
        public void Reject(DropReason reason, T item)
        {
            Counters.AddOffered();
            Drop(reason, 1);
            if (reason != DropReason.Excluded) NotifyDropped(reason, item);
        }

        private void NotifyDropped(DropReason reason, T item)
        {
            if (ItemsDropped is null) return;
            NotifyDropped(reason, new[] { item });
        }

        private void NotifyDropped(DropReason reason, IReadOnlyList<T> items)
        {
            var listener = ItemsDropped;
            if (listener is null || items.Count == 0) return;
            try { listener(reason, items); }
            catch { /* a failure listener must not break delivery */ }
        }

        /// <summary>Reports a problem through the rate-limited diagnostics (at most one line per key per interval).</summary>
        public void ReportProblem(string key, string message) => _reporter.Problem(key, message, error: false);

        /// <summary>Sends everything queued before the call, ignoring the period and the request budget (not 429 backoff).</summary>
        public Task FlushAsync(CancellationToken cancellationToken = default)
        {
            var target = Volatile.Read(ref _enqueued);
            if (Volatile.Read(ref _settled) >= target) return Task.CompletedTask;
            var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_flushGate)
            {
                if (_loop.IsCompleted) return Task.CompletedTask;
                _flushWaiters.Add((target, done));
                if (target > _flushTarget) _flushTarget = target;
            }
            Wake();
            CompleteFlushWaiters();
            return done.Task.WaitWithCancellation(cancellationToken);
        }

        public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

        /// <summary>Delivers what is queued within the shutdown timeout, then counts the rest as <c>shutdown</c>. Idempotent.</summary>
        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
            {
                try { await _loop.ConfigureAwait(false); } catch { /* reported by the first disposer */ }
                return;
            }
            _closing = true;
            _channel.Writer.TryComplete();
            Wake();
            try
            {
                using var timeout = new CancellationTokenSource();
                var delay = _settings.TimeProvider.DelayAsync(_settings.ShutdownTimeout, timeout.Token);
                var first = await Task.WhenAny(_loop, delay).ConfigureAwait(false);
                timeout.Cancel();
                if (first != _loop)
                {
                    _stop.Cancel();
                    await _loop.ConfigureAwait(false);
                }
            }
            catch (Exception ex)
            {
                _reporter.Problem("loop", "Bento: the delivery loop failed during shutdown: " + ex.GetType().Name, error: true);
            }
            finally
            {
                _reporter.FlushPending();
                _sender.Dispose();
                _metrics.Dispose();
                _delayCts?.Cancel();
                _delayCts?.Dispose();
                _stop.Dispose();
            }
        }

        private static TaskCompletionSource<bool> NewSignal() => new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        private void Wake() => Volatile.Read(ref _wake).TrySetResult(true);

        private void Drop(DropReason reason, long count)
        {
            if (count <= 0) return;
            Counters.AddDropped(reason, count);
            _metrics.Dropped(reason, count);
            if (reason != DropReason.Excluded) _reporter.Dropped(reason, count);
        }

        /// <summary>An event taken from the queue is sent or dropped: count it, and release flushes waiting for it.</summary>
        private void Settle(long sent, DropReason reason, long dropped)
        {
            if (sent > 0)
            {
                Counters.AddSent(sent);
                _metrics.Sent(sent);
            }
            Drop(reason, dropped);
            Interlocked.Add(ref _settled, sent + dropped);
            CompleteFlushWaiters();
        }

        private void CompleteFlushWaiters()
        {
            var settled = Volatile.Read(ref _settled);
            lock (_flushGate)
            {
                for (var i = _flushWaiters.Count - 1; i >= 0; i--)
                {
                    if (_flushWaiters[i].Target <= settled || _loop.IsCompleted)
                    {
                        _flushWaiters[i].Done.TrySetResult(true);
                        _flushWaiters.RemoveAt(i);
                    }
                }
            }
        }

        private bool FlushRequested
        {
            get
            {
                long target;
                lock (_flushGate) target = _flushTarget;
                return target > Volatile.Read(ref _settled);
            }
        }

        private async Task RunAsync()
        {
            var scratch = new PooledBufferWriter(16 * 1024);
            var carry = new PooledBufferWriter(1024);
            var hasCarry = false;
            var items = new List<T>();
            T carryItem = default!;
            var writer = new Utf8JsonWriter(scratch, BentoJson.WriterOptions);
            var batch = new Batch(_settings.SiteUuid);
            var time = _settings.TimeProvider;
            var stop = _stop.Token;
            try
            {
                while (true)
                {
                    var wake = Volatile.Read(ref _wake).Task;
                    if (wake.IsCompleted)
                    {
                        Volatile.Write(ref _wake, NewSignal());
                        wake = Volatile.Read(ref _wake).Task;
                    }

                    if (hasCarry && batch.Count == 0)
                    {
                        batch.Add(carry.WrittenSpan);
                        items.Add(carryItem);
                        carryItem = default!;
                        batch.FirstEventTimestamp = time.GetTimestamp();
                        carry.Clear();
                        hasCarry = false;
                    }

                    var full = batch.Count >= _settings.BatchSizeLimit;
                    while (!full && _channel.Reader.TryRead(out var item))
                    {
                        scratch.Clear();
                        writer.Reset(scratch);
                        if (!Format(writer, item)) { NotifyDropped(DropReason.Invalid, item); continue; }
                        var length = scratch.WrittenCount;
                        if (batch.SingleEventBodyLength(length) > _settings.MaxRequestBytes)
                        {
                            Settle(0, DropReason.TooLarge, 1);
                            NotifyDropped(DropReason.TooLarge, item);
                            scratch.TrimIfLargerThan(1024 * 1024);
                            continue;
                        }
                        if (batch.Count > 0 && batch.BodyLengthWith(length) > _settings.MaxRequestBytes)
                        {
                            carry.Clear();
                            carry.Write(scratch.WrittenSpan);
                            carryItem = item;
                            hasCarry = true;
                            full = true;
                            break;
                        }
                        batch.Add(scratch.WrittenSpan);
                        items.Add(item);
                        if (batch.Count == 1) batch.FirstEventTimestamp = time.GetTimestamp();
                        full = batch.Count >= _settings.BatchSizeLimit;
                    }

                    if (batch.Count == 0)
                    {
                        if (_channel.Reader.Completion.IsCompleted && !hasCarry) break;
                        await Task.WhenAny(ReadWait(stop), wake).ConfigureAwait(false);
                        stop.ThrowIfCancellationRequested();
                        continue;
                    }

                    var urgent = _closing || FlushRequested;
                    if (!full && !urgent)
                    {
                        var due = _settings.Period - time.GetElapsedTime(batch.FirstEventTimestamp);
                        if (due > TimeSpan.Zero)
                        {
                            await Task.WhenAny(ReadWait(stop), DelayUntil(time.GetTimestamp() + Ticks(due), stop), wake).ConfigureAwait(false);
                            stop.ThrowIfCancellationRequested();
                            continue;
                        }
                    }

                    if (!urgent)
                    {
                        var wait = _budget.TimeUntilAvailable();
                        if (wait > TimeSpan.Zero)
                        {
                            // The budget is spent: keep filling this batch (unless it is full) until a request may go.
                            var delay = DelayUntil(time.GetTimestamp() + Ticks(wait), stop);
                            if (full) await Task.WhenAny(delay, wake).ConfigureAwait(false);
                            else await Task.WhenAny(ReadWait(stop), delay, wake).ConfigureAwait(false);
                            stop.ThrowIfCancellationRequested();
                            continue;
                        }
                    }

                    // One request at a time. (Filling a second batch while a request is on the wire was measured
                    // slower end to end on 2 cores: see benchmarks/README.md.)
                    await SendAndClearAsync(batch, items, stop).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Hard stop at the end of the shutdown timeout: what is left is counted below.
            }
            catch (Exception ex)
            {
                _reporter.Problem("loop", "Bento: the delivery loop stopped unexpectedly (" + ex.GetType().Name + "); undelivered events are counted as shutdown.", error: true);
            }
            finally
            {
                if (hasCarry) items.Add(carryItem);
                _channel.Writer.TryComplete();
                while (_channel.Reader.TryRead(out var rest)) items.Add(rest);
                Settle(0, DropReason.Shutdown, items.Count);
                NotifyDropped(DropReason.Shutdown, items);
                batch.Dispose();
                writer.Dispose();
                scratch.Dispose();
                carry.Dispose();
            }
            CompleteFlushWaitersAfterExit();
        }

        private void CompleteFlushWaitersAfterExit()
        {
            lock (_flushGate)
            {
                foreach (var w in _flushWaiters) w.Done.TrySetResult(true);
                _flushWaiters.Clear();
            }
        }

        private bool Format(Utf8JsonWriter writer, T item)
        {
            try
            {
                if (_formatter.TryWriteEvent(writer, item, out var reason))
                {
                    writer.Flush();
                    if (writer.CurrentDepth == 0 && writer.BytesCommitted > 0) return true;
                    reason = "the formatter left an incomplete JSON object";
                }
                Settle(0, DropReason.Invalid, 1);
                if (reason != null) _reporter.Problem("invalid:" + reason, "Bento: dropped an invalid event: " + reason + ".", error: false);
            }
            catch (Exception ex)
            {
                Settle(0, DropReason.Invalid, 1);
                _reporter.Problem("format:" + ex.GetType().Name, "Bento: dropped an event that could not be written as JSON (" + ex.GetType().Name + ").", error: false);
            }
            return false;
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

        private Task DelayUntil(long timestamp, CancellationToken stop)
        {
            var time = _settings.TimeProvider;
            var tolerance = time.TimestampFrequency / 1000;
            if (_delayTask != null && !_delayTask.IsCompleted && Math.Abs(_delayTarget - timestamp) <= tolerance) return _delayTask;
            _delayCts?.Cancel();
            _delayCts?.Dispose();
            _delayCts = CancellationTokenSource.CreateLinkedTokenSource(stop);
            var delay = TimeSpan.FromSeconds(Math.Max(0, timestamp - time.GetTimestamp()) / (double)time.TimestampFrequency);
            _delayTarget = timestamp;
            _delayTask = time.DelayAsync(delay, _delayCts.Token);
            return _delayTask;
        }

        private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _settings.TimeProvider.TimestampFrequency);

        private async Task SendAndClearAsync(Batch batch, List<T> items, CancellationToken stop)
        {
            try
            {
                await SendBatchAsync(batch, items, stop).ConfigureAwait(false);
            }
            finally
            {
                batch.Clear();
                items.Clear();
            }
        }

        private async Task SendBatchAsync(Batch batch, List<T> items, CancellationToken stop)
        {
            var work = new Stack<(int Start, int Count)>();
            work.Push((0, batch.Count));
            try
            {
                await SendWorkAsync(batch, items, work, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Hard stop: what this batch had not settled yet (a split may have settled part of it) is counted
                // once here, as shutdown; the caller then clears the batch.
                DropAll(work, items, DropReason.Shutdown);
                throw;
            }
        }

        private async Task SendWorkAsync(Batch batch, List<T> items, Stack<(int Start, int Count)> work, CancellationToken stop)
        {
            var time = _settings.TimeProvider;
            var started = time.GetTimestamp();
            var attempt = 0;
            var firstRequest = true;
            while (work.Count > 0)
            {
                var (start, count) = work.Peek();
                if (!firstRequest && !(_closing || FlushRequested))
                {
                    // Splits and retries spend the budget too.
                    TimeSpan wait;
                    while ((wait = _budget.TimeUntilAvailable()) > TimeSpan.Zero)
                        await time.DelayAsync(wait, stop).ConfigureAwait(false);
                }
                firstRequest = false;
                _budget.OnRequest();
                NoteRequest(time.GetTimestamp());
                Counters.AddRequest();
                var outcome = await _sender.SendAsync(batch, start, count, stop).ConfigureAwait(false);
                _metrics.Request(outcome.Status);
                switch (outcome.Kind)
                {
                    case SendOutcomeKind.Success:
                        work.Pop();
                        attempt = 0;
                        _budget.OnSuccess();
                        var failed = Math.Min(outcome.Failed, count);
                        if (failed > 0)
                            _reporter.Problem("failed", $"Bento accepted a batch but counted {failed} of its {count} events as failed.", error: false);
                        Settle(count - failed, DropReason.Rejected, failed);
                        break;

                    case SendOutcomeKind.Retryable:
                        if (outcome.Status == 429) _budget.OnThrottled(outcome.RetryAfter ?? TimeSpan.Zero, ObservedRatePerMinute());
                        var elapsed = time.GetElapsedTime(started);
                        var remaining = _settings.RetryTimeLimit - elapsed;
                        if (remaining <= TimeSpan.Zero)
                        {
                            _reporter.Problem("exhausted", $"Bento: giving up on a batch after {elapsed.TotalSeconds:0} s of retries (last: {outcome.Detail}).", error: true);
                            DropAll(work, items, DropReason.RetriesExhausted);
                            return;
                        }
                        var delay = outcome.RetryAfter ?? FullJitter(attempt);
                        if (delay > remaining) delay = remaining;
                        attempt++;
                        Counters.AddRetry();
                        _metrics.Retry();
                        _reporter.Problem("retry:" + outcome.Status, $"Bento: request failed ({outcome.Detail}); retrying in {delay.TotalSeconds:0.#} s.", error: false);
                        await time.DelayAsync(delay, stop).ConfigureAwait(false);
                        break;

                    case SendOutcomeKind.BadRequest:
                    case SendOutcomeKind.TooLarge:
                        work.Pop();
                        if (count == 1)
                        {
                            var reason = outcome.Kind == SendOutcomeKind.TooLarge ? DropReason.TooLarge : DropReason.Rejected;
                            Settle(0, reason, 1);
                            NotifyDropped(reason, items[start]);
                        }
                        else
                        {
                            // Split to isolate what Bento refuses; the halves are sent first-half first.
                            var half = count / 2;
                            work.Push((start + half, count - half));
                            work.Push((start, half));
                        }
                        break;

                    case SendOutcomeKind.Unauthorized:
                        _reporter.Problem("unauthorized", $"Bento refused the request ({outcome.Detail}): check the site UUID, the publishable and secret keys, and that the account is active.", error: true);
                        DropAll(work, items, DropReason.Unauthorized);
                        return;

                    default:
                        work.Pop();
                        _reporter.Problem("rejected:" + outcome.Status, $"Bento rejected a batch of {count} events ({outcome.Detail}).", error: true);
                        Settle(0, DropReason.Rejected, count);
                        NotifyDropped(DropReason.Rejected, items.GetRange(start, count));
                        break;
                }
            }
            _metrics.BatchSent(time.GetElapsedTime(started));
        }

        private void DropAll(Stack<(int Start, int Count)> work, List<T> items, DropReason reason)
        {
            var dropped = new List<T>();
            while (work.Count > 0)
            {
                var (start, count) = work.Pop();
                dropped.AddRange(items.GetRange(start, count));
            }
            Settle(0, reason, dropped.Count);
            NotifyDropped(reason, dropped);
        }

        private TimeSpan FullJitter(int attempt)
        {
            var cap = Math.Min(MaxBackoff.TotalMilliseconds, BaseBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 16)));
            var ms = _jitter.NextDouble() * cap;
            return TimeSpan.FromMilliseconds(Math.Max(MinBackoff.TotalMilliseconds, ms));
        }

        private void NoteRequest(long now)
        {
            _recentRequests.Enqueue(now);
            var minute = _settings.TimeProvider.TimestampFrequency * 60;
            while (_recentRequests.Count > 0 && now - _recentRequests.Peek() > minute) _recentRequests.Dequeue();
        }

        private double ObservedRatePerMinute() => _recentRequests.Count;
    }
}
