using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.IO.Hashing;
using System.Threading;
using BentoSinks.Diagnostics;

namespace BentoSinks.Durable
{
    /// <summary>The durable buffer, reading: events kept in memory after a disk failure first, then batches read back from the segments, and a failed read retried with a backoff.</summary>
    internal sealed partial class DurableBuffer
    {
        // ----- reading -----

        /// <summary>
        /// The next event to send, without taking it: its JSON (valid until the next call on the buffer), its sequence
        /// number (0 for an event an earlier process left) and the position just after it.
        /// </summary>
        public bool TryPeek(out ReadOnlySpan<byte> json, out long sequence, out BufferPosition end)
        {
            if (!_peeked) _peeked = PeekNext();
            if (!_peeked)
            {
                json = default;
                sequence = long.MaxValue;
                end = BufferPosition.None;
                return false;
            }
            json = _peekedMemory ? _memory.Peek().Json : RecordFrame.Json(_reader!.Payload);
            sequence = _peekSequence;
            end = _peekEnd;
            return true;
        }

        /// <summary>Takes the event <see cref="TryPeek"/> returned.</summary>
        public void Consume()
        {
            if (!_peeked) return;
            _peeked = false;
            if (_peekedMemory) _memory.Dequeue();
            else
            {
                _diskReady = false;
                if (_readSegment != null && _readSegment.Unread > 0) _readSegment.Unread--;
            }
        }

        /// <summary>
        /// The sequence number of the oldest event not taken yet (<see cref="long.MaxValue"/> when none), including the
        /// records waiting on disk while reading it backs off after a failure: a flush does not complete while they wait.
        /// </summary>
        public long OldestUnreadSequence
        {
            get
            {
                var oldest = TryPeek(out _, out var sequence, out _) ? sequence : long.MaxValue;
                // The next record on disk, read already, waits behind the events in memory: a flush waits for it too.
                if (_diskReady) oldest = Math.Min(oldest, _diskSequence);
                // Records waiting for their group commit are not readable yet, but a flush waits for them too.
                if (_pendingCount > 0) oldest = Math.Min(oldest, _pendingFirstSequence);
                // Events kept in memory while the disk failed are read first, but a disk record may be peeked already:
                // a flush waits for them too.
                if (_memory.Count > 0) oldest = Math.Min(oldest, _memory.Peek().Sequence);
                // Records still unread on disk while reading backs off, or while the events in memory are read first (the
                // peek is then one of those, newer than what waits on disk): a segment's first record stands for them.
                if (_readRetryAt != 0 || _memory.Count > 0)
                {
                    foreach (var segment in _segments)
                    {
                        if (segment.Id <= _readAfterId || segment.Unread == 0) continue;
                        oldest = Math.Min(oldest, segment.Recovered ? 0 : segment.FirstSequence);
                        break;
                    }
                }
                return oldest;
            }
        }

        /// <summary>Whether records wait on disk while reading backs off after a failure.</summary>
        public bool ReadBackingOff => _readRetryAt != 0 && OldestUnreadSequence != long.MaxValue;

        /// <summary>Whether the directory may be read now (not backing off after a failed read).</summary>
        private bool CanRead()
        {
            if (_readFailed) return false;
            if (_readRetryAt == 0) return true;
            return System.Diagnostics.Stopwatch.GetTimestamp() >= _readRetryAt;
        }

        /// <summary>
        /// A read failed: the records stay on disk and reading is tried again after a backoff (100 ms doubling to 30 s,
        /// real time), reported at most once per reporting interval; the loop is woken for the retry.
        /// </summary>
        private void ReadFailed(Exception ex)
        {
            if (_readSegment != null && _reader != null) _readSegment.Resume = _reader.Position;
            CloseReader();
            _readBackoff = _readBackoff == TimeSpan.Zero ? ReadBackoff : TimeSpan.FromTicks(Math.Min(MaxReadBackoff.Ticks, _readBackoff.Ticks * 2));
            _readRetryAt = System.Diagnostics.Stopwatch.GetTimestamp() + (long)(_readBackoff.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
            _problem("buffer:read", "Bento: reading the buffer directory failed (" + ex.GetType().Name + ": " + Describe(ex) +
                "); its events wait there and reading is tried again in " + _readBackoff.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s.", true);
            if (_disposed) return;
            _readTimer?.Dispose();
            using (ExecutionContext.SuppressFlow())
                _readTimer = new Timer(static s => ((DurableBuffer)s!)._wake(), this, _readBackoff + TimeSpan.FromMilliseconds(1), Timeout.InfiniteTimeSpan);
        }

        /// <summary>
        /// The next event: one kept in memory after a disk failure first, then the records on disk in order. The events in
        /// memory are the ones a crash or a full queue would lose, and there are at most <c>QueueLimit</c> of them (new
        /// events go to disk again once it works), so a steady backlog on disk never holds them back, and the disk's
        /// records wait at most that long (they are safe where they are).
        /// </summary>
        private bool PeekNext()
        {
            // The disk's next record is read even when memory goes first, so that a flush knows how old it is.
            if (!_diskReady) _diskReady = ReadDisk();
            if (_memory.Count > 0)
            {
                _peekedMemory = true;
                _peekSequence = _memory.Peek().Sequence;
                _peekEnd = BufferPosition.None;
                return true;
            }
            if (!_diskReady) return false;
            _peekedMemory = false;
            _peekSequence = _diskSequence;
            _peekEnd = _diskEnd;
            return true;
        }

        /// <summary>Reads the next record on disk (it stays in the reader's buffer until taken); false when none can be read now.</summary>
        private bool ReadDisk()
        {
            while (CanRead())
            {
                try
                {
                    if (_reader is null && !OpenNextSegment()) break;
                    var segment = _readSegment!;
                    var result = _reader!.Next(segment.Length);
                    if (result == SegmentReadResult.Record)
                    {
                        _readRetryAt = 0;
                        _readBackoff = TimeSpan.Zero;
                        _diskSequence = segment.Recovered ? 0 : RecordFrame.Sequence(_reader.Payload);
                        _diskEnd = new BufferPosition(segment.Id, _reader.Position);
                        return true;
                    }
                    if (result == SegmentReadResult.Damaged)
                    {
                        // Records of an earlier process enter the accounting here; ours were offered already.
                        var lost = _reader.Lost;
                        if (segment.Recovered) _offered(lost);
                        else segment.Unread = Math.Max(0, segment.Unread - lost);
                        _count(DropReason.Corrupt, lost);
                        _problem("buffer:corrupt", "Bento: skipped a damaged or torn record in the buffer directory (segment " +
                            segment.Id.ToString(CultureInfo.InvariantCulture) + "; records lost: " + lost.ToString(CultureInfo.InvariantCulture) +
                            "); the records after it are delivered.", true);
                        continue;
                    }
                    if (!segment.Sealed) break; // the active segment: nothing more committed yet
                    _readAfterId = segment.Id;
                    CloseReader();
                }
                catch (Exception ex) when (IsIoFailure(ex))
                {
                    ReadFailed(ex);
                }
            }
            return false;
        }

        private bool OpenNextSegment()
        {
            foreach (var segment in _segments)
            {
                if (segment.Id <= _readAfterId) continue;
                Stream stream;
                try
                {
                    stream = _files.OpenRead(segment.Path);
                }
                catch (Exception ex) when (BufferDirectoryLock.IsMissing(ex))
                {
                    // Deleted from outside: its records are gone, not waiting (no read retry, no flush held by them).
                    Lose(segment);
                    return OpenNextSegment();
                }
                _readSegment = segment;
                _reader = new SegmentReader(stream, Math.Max(segment.Start, segment.Resume));
                return true;
            }
            return false;
        }

        private void CloseReader()
        {
            _diskReady = false;
            _reader?.Dispose();
            _reader = null;
            _readSegment = null;
        }
    }
}
