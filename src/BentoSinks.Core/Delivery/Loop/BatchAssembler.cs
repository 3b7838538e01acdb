using System;
using System.Collections.Generic;
using System.Text.Json;
using BentoSinks.Diagnostics;
using BentoSinks.Durable;
using BentoSinks.Json;

namespace BentoSinks.Delivery
{
    /// <summary>
    /// Batch assembly, on the loop: serializes events, adds them to the <see cref="Batch"/> within its limits by count
    /// and bytes, and holds over the event that opens the next batch (it did not fit). It also knows the sequence numbers
    /// the batch holds (for flushes), and in durable mode the buffer position to acknowledge once the batch settles and
    /// which of its events came from memory (kept there after a disk failure).
    /// </summary>
    internal sealed class BatchAssembler<T> : IDisposable
    {
        private const int ScratchKeepBytes = 64 * 1024;

        private readonly PipelineSettings _settings;
        private readonly IBentoEventFormatter<T> _formatter;
        private readonly DeliveryLedger<T> _ledger;
        private readonly RateLimitedReporter _reporter;
        private readonly Utf8JsonWriter _writer;
        private PooledBufferWriter _scratch = new PooledBufferWriter(16 * 1024);
        private PooledBufferWriter _heldBytes = new PooledBufferWriter(1024);
        private T _heldItem = default!;
        private long _heldSequence;
        private long _firstSequence;
        private long _oldestSequence; // the least sequence number in the batch: not always its first's (see OldestHeld)

        public BatchAssembler(PipelineSettings settings, IBentoEventFormatter<T> formatter, DeliveryLedger<T> ledger, RateLimitedReporter reporter)
        {
            _settings = settings;
            _formatter = formatter;
            _ledger = ledger;
            _reporter = reporter;
            Batch = new Batch(settings.SiteUuid);
            _writer = new Utf8JsonWriter(_scratch, BentoJson.WriterOptions);
        }

        public Batch Batch { get; }

        /// <summary>The batch's items (placeholders in durable mode: drops are counted, not handed to listeners).</summary>
        public List<T> Items { get; } = new List<T>();

        public int Count => Batch.Count;

        /// <summary>An event waits for the next batch.</summary>
        public bool HasHeld { get; private set; }

        /// <summary>The held event's buffer position (none when it is on no disk).</summary>
        public BufferPosition HeldEnd { get; private set; } = BufferPosition.None;

        /// <summary>When the batch's first event was added (the period runs from there).</summary>
        public long Started { get; private set; }

        /// <summary>The sequence number of the batch's first event (0: left by an earlier process).</summary>
        public long FirstSequence => _firstSequence;

        /// <summary>Durable mode: the buffer position acknowledged once the batch has settled.</summary>
        public BufferPosition End { get; set; } = BufferPosition.None;

        /// <summary>Durable mode: indexes of the batch's events that are on no disk (kept in memory after a disk failure).</summary>
        public List<int> FromMemory { get; } = new List<int>();

        /// <summary>The batch was handed to delivery: once its work is empty it must be cleared, never resent.</summary>
        public bool DeliveryBegun { get; set; }

        /// <summary>Full by count, or an event is held over (full by bytes).</summary>
        public bool Full => HasHeld || Batch.Count >= _settings.BatchSizeLimit;

        /// <summary>Whether another event may be added now.</summary>
        public bool HasRoom => !HasHeld && Batch.Count < _settings.BatchSizeLimit;

        /// <summary>The oldest sequence number held here (<see cref="long.MaxValue"/> when none).</summary>
        /// <remarks>
        /// The least of the batch's events and the held one, not the first's: in durable mode events kept in memory after a
        /// disk failure are read before older records on disk, and may share a batch (or a hold-over) with them.
        /// </remarks>
        public long OldestHeld => Math.Min(Batch.Count > 0 ? _oldestSequence : long.MaxValue, HasHeld ? _heldSequence : long.MaxValue);

        /// <summary>The JSON of the last event <see cref="Serialize"/> wrote.</summary>
        public ReadOnlySpan<byte> Serialized => _scratch.WrittenSpan;

        /// <summary>Writes <paramref name="item"/> as JSON; false (counted <c>invalid</c>, reported) when it cannot be.</summary>
        public bool Serialize(T item)
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

        /// <summary>Whether an event of <paramref name="length"/> bytes is larger than a request alone.</summary>
        public bool TooLargeAlone(int length) => Batch.SingleEventBodyLength(length) > _settings.MaxRequestBytes;

        /// <summary>The serialized event is larger than a request alone: counted <c>too_large</c> and forgotten.</summary>
        public bool DropIfTooLarge(T item)
        {
            if (!TooLargeAlone(_scratch.WrittenCount)) return false;
            _ledger.Dropped(DropReason.TooLarge, item);
            _scratch.Clear();
            _scratch.TrimIfLargerThan(ScratchKeepBytes);
            return true;
        }

        /// <summary>Memory mode: adds the serialized event, or holds it over when the batch has no room for its bytes.</summary>
        public void AddSerialized(T item, long sequence)
        {
            if (Batch.Count > 0 && Batch.BodyLengthWith(_scratch.WrittenCount) > _settings.MaxRequestBytes)
            {
                // It opens the next batch: keep its bytes by swapping buffers (no copy).
                var bytes = _heldBytes;
                _heldBytes = _scratch;
                _scratch = bytes;
                _scratch.Clear();
                _heldItem = item;
                _heldSequence = sequence;
                HeldEnd = BufferPosition.None;
                HasHeld = true;
                return;
            }
            Add(_scratch.WrittenSpan, item, sequence);
        }

        /// <summary>Durable mode: adds an event read from the buffer, or holds it over when the batch has no room for its bytes.</summary>
        public void AddRead(ReadOnlySpan<byte> json, long sequence, BufferPosition end)
        {
            if (Batch.Count > 0 && Batch.BodyLengthWith(json.Length) > _settings.MaxRequestBytes)
            {
                _heldBytes.Clear();
                _heldBytes.Write(json);
                _heldItem = default!;
                _heldSequence = sequence;
                HeldEnd = end;
                HasHeld = true;
                return;
            }
            if (end.IsNone) FromMemory.Add(Batch.Count);
            Add(json, default!, sequence);
            if (!end.IsNone) End = end;
        }

        /// <summary>Moves the event held over from the last batch (it did not fit) into the empty batch.</summary>
        public void PlaceHeldOver(bool durable)
        {
            if (!HasHeld || Batch.Count != 0) return;
            if (durable && HeldEnd.IsNone) FromMemory.Add(0);
            Add(_heldBytes.WrittenSpan, _heldItem, _heldSequence);
            if (!HeldEnd.IsNone) End = HeldEnd;
            DropHeld();
        }

        /// <summary>Forgets the held event (placed, or counted by the caller); returns it.</summary>
        public T DropHeld()
        {
            var item = _heldItem;
            _heldBytes.Clear();
            _heldItem = default!;
            HeldEnd = BufferPosition.None;
            HasHeld = false;
            return item;
        }

        private void Add(ReadOnlySpan<byte> json, T item, long sequence)
        {
            if (Batch.Count == 0)
            {
                _firstSequence = sequence;
                _oldestSequence = sequence;
                Started = _settings.TimeProvider.GetTimestamp();
            }
            else if (sequence < _oldestSequence) _oldestSequence = sequence;
            Batch.Add(json);
            Items.Add(item);
        }

        public void Clear()
        {
            Batch.Clear();
            Items.Clear();
            DeliveryBegun = false;
            End = BufferPosition.None;
            FromMemory.Clear();
        }

        /// <summary>
        /// How many more events wake the loop while the batch fills: enough to fill it by count, and by bytes at its
        /// average event size so far (large events fill a request long before 1,000 of them), or half the queue.
        /// </summary>
        public int FillThreshold()
        {
            var fitting = _settings.BatchSizeLimit - Batch.Count;
            if (Batch.Count > 0)
            {
                var average = Math.Max(1, (Batch.BodyLength - Batch.SingleEventBodyLength(0)) / Batch.Count);
                var roomBytes = _settings.MaxRequestBytes - Batch.BodyLength;
                fitting = (int)Math.Min(fitting, Math.Max(1, roomBytes / average));
            }
            return Math.Max(1, Math.Min(fitting, _settings.QueueLimit / 2));
        }

        public void ReleaseIdleMemory()
        {
            Batch.ReleaseMemory();
            if (!HasHeld) _heldBytes.TrimIfLargerThan(ScratchKeepBytes);
            _scratch.Clear();
            _scratch.TrimIfLargerThan(ScratchKeepBytes);
        }

        public void Dispose()
        {
            Batch.Dispose();
            _writer.Dispose();
            _scratch.Dispose();
            _heldBytes.Dispose();
        }
    }
}
