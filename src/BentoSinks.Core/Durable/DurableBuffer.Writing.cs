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
    /// <summary>The durable buffer, writing: group commits into segments, the fsync timer, a failed write, and the size and age limits.</summary>
    internal sealed partial class DurableBuffer
    {
        // ----- writing -----

        /// <summary>Frames one event into the pending group commit (in memory when the disk has failed).</summary>
        public void Append(ReadOnlySpan<byte> json, long sequence)
        {
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            if (_failed)
            {
                KeepInMemory(json.ToArray(), sequence);
                return;
            }
            var length = RecordFrame.FramedLength(json.Length);
            // A group commit never makes a segment much larger than its size: the limits drop whole segments.
            if (_pendingCount > 0 && _pendingCount + length > _segmentBytes)
            {
                Commit();
                if (_failed)
                {
                    KeepInMemory(json.ToArray(), sequence);
                    return;
                }
            }
            if (_pendingCount + length > _pending.Length)
            {
                var size = _pending.Length;
                while (size < _pendingCount + length) size *= 2;
                Array.Resize(ref _pending, size);
            }
            if (_pendingCount == 0)
            {
                _pendingSince = System.Diagnostics.Stopwatch.GetTimestamp();
                _pendingFirstSequence = sequence;
            }
            RecordFrame.Write(_pending.AsSpan(_pendingCount, length), json, sequence, now);
            _pendingCount += length;
            _pendingRecords++;
            _pendingNewest = now;
        }

        /// <summary>Whether appended records wait for their group commit.</summary>
        public bool HasPending => _pendingCount > 0;

        /// <summary>How long until the pending records must be written (zero when due).</summary>
        public TimeSpan CommitDueIn
        {
            get
            {
                if (_pendingCount == 0) return CommitWindow;
                var elapsed = TimeSpan.FromSeconds((System.Diagnostics.Stopwatch.GetTimestamp() - _pendingSince) / (double)System.Diagnostics.Stopwatch.Frequency);
                return elapsed >= CommitWindow ? TimeSpan.Zero : CommitWindow - elapsed;
            }
        }

        /// <summary>
        /// The group commit: writes what is pending once it is <see cref="CommitWindow"/> old or large, or when
        /// <paramref name="now"/> (a flush, disposal); the loop comes back for it within the window.
        /// </summary>
        public void CommitIfDue(bool now)
        {
            if (now || _pendingCount == 0 || _pendingCount >= CommitBytes || CommitDueIn == TimeSpan.Zero) Commit();
        }

        /// <summary>Writes the pending records to the OS (one write), rotates segments and applies the limits.</summary>
        public void Commit()
        {
            if (_syncFailure is { } syncFailure)
            {
                _syncFailure = null;
                Fail(syncFailure, "syncing a segment");
            }
            if (!_failed && _pendingCount > 0)
            {
                try
                {
                    lock (_io)
                    {
                        if (_active is null) CreateActive();
                        _files.Write(_activeStream!, _pending, _pendingCount);
                        _dirty = true;
                    }
                    var active = _active!;
                    if (active.Length == 0) active.FirstSequence = RecordFrame.Sequence(_pending.AsSpan(RecordFrame.HeaderLength));
                    active.Length += _pendingCount;
                    active.Unread += _pendingRecords;
                    active.NewestWritten = _pendingNewest;
                    _totalBytes += _pendingCount;
                    _pendingCount = 0;
                    _pendingRecords = 0;
                    if (_pending.Length > 1024 * 1024) _pending = new byte[64 * 1024];
                    if (active.Length + RecordFrame.HeaderLength >= _segmentBytes) Seal();
                }
                catch (Exception ex) when (IsIoFailure(ex))
                {
                    Fail(ex, "writing a segment");
                }
            }
            ApplyLimits();
        }

        private void CreateActive()
        {
            var id = _nextId++;
            var path = Path.Combine(_directory, BufferDirectoryLock.SegmentName(id));
            _activeStream = _files.CreateSegment(path);
            _active = new SegmentInfo(id, path, recovered: false);
            _segments.Add(_active);
            // The new directory entry is durable before records in it are counted on.
            _files.SyncDirectory(_directory);
        }

        private void Seal()
        {
            lock (_io)
            {
                try
                {
                    if (_activeStream != null && _dirty) _files.Sync(_activeStream);
                    _dirty = false;
                }
                finally
                {
                    _activeStream?.Dispose();
                    _activeStream = null;
                    if (_active != null) _active.Sealed = true;
                    _active = null;
                }
            }
        }

        private void SyncTick()
        {
            lock (_io)
            {
                if (_activeStream is null) return;
                try
                {
                    // A directory deleted from outside: writes to the unlinked file would reach no disk.
                    if (_active != null && !_files.Exists(_active.Path)) throw new DirectoryNotFoundException("the buffer segment was deleted");
                    if (!_dirty) return;
                    _files.Sync(_activeStream);
                    _dirty = false;
                }
                catch (Exception ex) when (IsIoFailure(ex) || ex is ObjectDisposedException)
                {
                    _syncFailure = ex;
                }
            }
        }

        /// <summary>The disk failed: report once, keep what was pending in memory, and keep new events in memory.</summary>
        private void Fail(Exception ex, string during)
        {
            if (_failed) return;
            _failed = true;
            ReportUnusable(ex, during);
            PlanRetry();
            // The records of the failed group commit are not on disk (or only partly): they go on from memory.
            var offset = 0;
            while (offset + RecordFrame.HeaderLength <= _pendingCount)
            {
                RecordFrame.TryReadHeader(_pending.AsSpan(offset), out var length, out _);
                var payload = _pending.AsSpan(offset + RecordFrame.HeaderLength, length);
                KeepInMemory(RecordFrame.Json(payload).ToArray(), RecordFrame.Sequence(payload));
                offset += RecordFrame.HeaderLength + length;
            }
            _pendingCount = 0;
            _pendingRecords = 0;
            // A write that failed part-way may have left some of those records on disk: cut the segment back to what
            // was committed, or the next process would send them too (they go on from memory here).
            lock (_io)
            {
                if (_activeStream != null && _active != null)
                {
                    try { _files.Truncate(_activeStream, _active.Length); }
                    catch (Exception truncation) when (IsIoFailure(truncation))
                    {
                        _problem("buffer:truncate", "Bento: a buffer segment could not be cut back after a failed write (" + truncation.GetType().Name +
                            "); the next process may send some events of it that this one delivers from memory.", true);
                    }
                }
            }
            try { Seal(); }
            catch (Exception) { /* the segment is already given up */ }
        }

        private void KeepInMemory(byte[] json, long sequence)
        {
            if (_memory.Count >= _memoryLimit)
            {
                _count(DropReason.QueueFull, 1);
                return;
            }
            _memory.Enqueue((json, sequence));
        }

        // ----- limits -----

        /// <summary>
        /// Drops the oldest waiting events first, whole segments at a time: past the age limit, then past the size limit.
        /// Segments holding the batch in flight (read, not yet acknowledged) are kept: it is being delivered, so the
        /// directory may pass its size limit by up to one batch.
        /// </summary>
        private void ApplyLimits()
        {
            if (_segments.Count == 0) return;
            var cutoff = _time.GetUtcNow().ToUnixTimeMilliseconds() - (long)_ageLimit.TotalMilliseconds;
            for (var i = 0; i < _segments.Count;)
            {
                var segment = _segments[i];
                if (InFlight(segment) || segment.NewestWritten == long.MinValue || segment.NewestWritten >= cutoff) break;
                if (segment == _active) Seal();
                DropSegment(segment, DropReason.Expired);
            }
            for (var i = 0; i < _segments.Count && _totalBytes > _sizeLimit;)
            {
                var segment = _segments[i];
                if (segment == _active) break;
                if (InFlight(segment))
                {
                    i++;
                    continue;
                }
                DropSegment(segment, DropReason.BufferFull);
            }
        }

        /// <summary>Whether the reader has taken records from the segment that Bento has not settled yet.</summary>
        private bool InFlight(SegmentInfo segment)
            => segment.Id <= _readAfterId || segment.Resume > segment.Start || (segment == _readSegment && _reader != null && _reader.Position > segment.Start);

        /// <summary>Deletes the oldest segment past a limit; its records not read yet are counted under <paramref name="reason"/>.</summary>
        private void DropSegment(SegmentInfo segment, DropReason reason)
        {
            if (segment == _readSegment)
            {
                // Gone from the list with it: the reader goes on with the next one (its place is not moved past it).
                CloseReader();
                _peeked = false;
            }
            var lost = segment.Unread;
            segment.Unread = 0;
            if (lost > 0) _count(reason, lost);
            Remove(segment);
        }

        private void Remove(SegmentInfo segment)
        {
            _segments.Remove(segment);
            _totalBytes -= segment.Length;
            try { _files.Delete(segment.Path); }
            catch (Exception ex) when (BufferDirectoryLock.IsMissing(ex)) { /* already gone */ }
            catch (Exception ex) when (IsIoFailure(ex))
            {
                _problem("buffer:delete", "Bento: a buffer segment could not be deleted (" + ex.GetType().Name + ").", true);
            }
        }
    }
}
