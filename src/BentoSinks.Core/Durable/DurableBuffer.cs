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
    /// <summary>
    /// The write-ahead buffer of one pipeline in <c>BufferDirectory</c>. The reader loop appends each serialized event
    /// (<see cref="Append"/>) and writes them to the OS once per pass (<see cref="Commit"/>, a group commit); a timer
    /// fsyncs the active segment at least every 500 ms. Batches are read back from the files (<see cref="TryPeek"/>,
    /// <see cref="Consume"/>), and the checkpoint moves on only when Bento has settled a batch (<see cref="Acknowledge"/>):
    /// a crash loses nothing written to the OS, and the next process on the directory sends it first.
    /// </summary>
    /// <remarks>
    /// Only the reader loop calls it, except the fsync timer, which shares the active file under <see cref="_io"/>.
    /// An I/O failure never throws out of it: the buffer reports an error once and keeps new events in memory (bounded by
    /// <c>QueueLimit</c>); what was written stays on disk for the next process.
    /// </remarks>
    internal sealed class DurableBuffer : IDisposable
    {
        public const string SegmentPattern = "*.bentoseg";
        public const string LockFileName = "buffer.lock";
        public const string CheckpointFileName = "checkpoint";

        /// <summary>How often the active segment is fsynced, at most (real time: durability is about the machine's clock).</summary>
        public static readonly TimeSpan SyncInterval = TimeSpan.FromMilliseconds(500);

        /// <summary>How long appended records may wait for their group commit (the write to the OS), at most.</summary>
        public static readonly TimeSpan CommitWindow = TimeSpan.FromMilliseconds(20);

        /// <summary>A group commit this large is written at once.</summary>
        private const int CommitBytes = 256 * 1024;

        private readonly BufferFileSystem _files;
        private readonly string _root;
        private readonly string _directory;
        private readonly long _sizeLimit;
        private readonly TimeSpan _ageLimit;
        private readonly long _segmentBytes;
        private readonly int _memoryLimit;
        private readonly TimeProvider _time;
        private readonly object _io = new object();
        private readonly List<SegmentInfo> _segments = new List<SegmentInfo>();
        private readonly Queue<(byte[] Json, long Sequence)> _memory = new Queue<(byte[], long)>();
        private FileStream? _lock;
        private DeadLetterFile? _deadLetters;
        private Timer? _reopenTimer;
        private long _reopenAt; // Stopwatch timestamp of the next attempt to use the directory again; 0: none planned
        private TimeSpan _reopenBackoff;
        private readonly Exception? _openFailure;
        private Timer? _syncTimer;
        private volatile Exception? _syncFailure;
        private bool _failed;
        private bool _readFailed; // the directory could not be opened: nothing to read
        private Timer? _readTimer;
        private long _readRetryAt; // Stopwatch timestamp; 0 when reading is not backing off
        private TimeSpan _readBackoff;
        private bool _disposed;

        // Writing
        private SegmentInfo? _active;
        private FileStream? _activeStream;
        private bool _dirty;
        private long _nextId = 1;
        private byte[] _pending = new byte[64 * 1024];
        private int _pendingCount;
        private int _pendingRecords;
        private long _pendingNewest;
        private long _pendingSince; // Stopwatch timestamp of the oldest pending record
        private long _totalBytes;

        // Reading
        private SegmentInfo? _readSegment;
        private SegmentReader? _reader;
        private long _readAfterId = long.MinValue;
        private bool _peeked;
        private bool _peekedMemory;
        private long _peekSequence;
        private BufferPosition _peekEnd;
        private BufferPosition _acknowledged = BufferPosition.None;
        private long _recovered;

        private Action<long> _offered = static _ => { };
        private Action<DropReason, long> _count = static (_, _) => { };
        private Action<string, string, bool> _problem = static (_, _, _) => { };
        private Action _wake = static () => { };
        private Action<string, string> _information = static (_, _) => { };

        /// <summary>The first wait after a failed read; it doubles up to <see cref="MaxReadBackoff"/>.</summary>
        public static readonly TimeSpan ReadBackoff = TimeSpan.FromMilliseconds(100);

        /// <summary>The longest wait between two attempts to read the directory after failures.</summary>
        public static readonly TimeSpan MaxReadBackoff = TimeSpan.FromSeconds(30);

        private DurableBuffer(PipelineSettings settings, BufferFileSystem files, string pipelineKind)
        {
            _files = files;
            _root = settings.BufferDirectory!;
            _directory = BufferDirectoryLock.Claim(_root, pipelineKind);
            _sizeLimit = settings.BufferSizeLimit;
            _ageLimit = settings.BufferAgeLimit;
            _segmentBytes = Math.Max(4096, Math.Min(8L * 1024 * 1024, _sizeLimit / 8));
            _memoryLimit = settings.QueueLimit;
            _time = settings.TimeProvider;
            _failed = true;
            _readFailed = true;
            _openFailure = TryOpen();
        }

        /// <summary>
        /// Creates the pipeline's subfolder, takes its lock and scans what an earlier process left; on success new events
        /// go to disk. Returns the failure, if any (another process holding the directory, a read-only or missing disk).
        /// </summary>
        private Exception? TryOpen()
        {
            try
            {
                _lock = BufferDirectoryLock.Acquire(_files, _root, _directory);
                Recover();
                _deadLetters ??= new DeadLetterFile(_files, _directory, Math.Max(64 * 1024, _sizeLimit / 16));
                _failed = false;
                _readFailed = false;
                _reopenBackoff = TimeSpan.Zero;
                return null;
            }
            catch (Exception ex) when (IsIoFailure(ex))
            {
                _lock?.Dispose();
                _lock = null;
                return ex;
            }
        }

        /// <summary>
        /// Opens the buffer of <paramref name="settings"/> in the subfolder for pipelines of <paramref name="pipelineKind"/>:
        /// takes its lock and scans what an earlier process left. Never throws: a directory held by another process,
        /// unwritable or missing gives a buffer that keeps events in memory (reported once <see cref="Attach"/> is
        /// called) and tries the directory again from time to time (<see cref="RetryIfDue"/>).
        /// </summary>
        public static DurableBuffer Open(PipelineSettings settings, string pipelineKind)
            => new DurableBuffer(settings, settings.BufferFileSystem ?? BufferFileSystem.Default, pipelineKind);

        /// <summary>The pipeline's own folder in <c>BufferDirectory</c>.</summary>
        public string Directory => _directory;

        /// <summary>Whether new events still go to disk.</summary>
        public bool Healthy => !_failed;

        /// <summary>Valid records found from earlier processes when it opened.</summary>
        public long Recovered => _recovered;

        /// <summary>Records on disk not taken by the reader yet (this process's and those earlier processes left).</summary>
        public long UnreadOnDisk
        {
            get
            {
                long n = 0;
                foreach (var segment in _segments) n += segment.Unread;
                return n;
            }
        }

        /// <summary>Events kept in memory since the disk failed, not read yet.</summary>
        public int InMemory => _memory.Count;

        /// <summary>
        /// Connects the accounting: <paramref name="offered"/> hears of events that enter from the disk (recovered, or a
        /// damaged region of a recovered segment), <paramref name="count"/> of drops; <paramref name="problem"/> reports;
        /// <paramref name="wake"/> brings the loop back when reading may be tried again after a failure. Starts the fsync timer.
        /// </summary>
        public void Attach(Action<long> offered, Action<DropReason, long> count, Action<string, string, bool> problem, Action<string, string> information, Action wake)
        {
            _offered = offered;
            _count = count;
            _problem = problem;
            _information = information;
            _wake = wake;
            if (_openFailure != null)
            {
                ReportUnusable(_openFailure, "opening it");
                PlanRetry();
            }
            if (_recovered > 0)
            {
                offered(_recovered);
                information("buffer:recovered", "Bento: " + _recovered.ToString(CultureInfo.InvariantCulture) +
                    " events left in the buffer directory by an earlier process are sent first.");
            }
            using (ExecutionContext.SuppressFlow())
                _syncTimer = new Timer(static s => ((DurableBuffer)s!).SyncTick(), this, SyncInterval, SyncInterval);
        }

        // ----- a directory that cannot be used: memory meanwhile, tried again with a backoff -----

        /// <summary>The first wait before the directory is tried again after it failed; it doubles up to <see cref="MaxReopenBackoff"/>.</summary>
        public static readonly TimeSpan ReopenBackoff = TimeSpan.FromSeconds(1);

        /// <summary>The longest wait between two attempts to use a failed directory again.</summary>
        public static readonly TimeSpan MaxReopenBackoff = TimeSpan.FromSeconds(60);

        private void ReportUnusable(Exception ex, string during)
        {
            var message = BufferDirectoryLock.IsSharingViolation(ex)
                ? "Bento: the buffer directory '" + _directory + "' is in use by another process (it holds " + LockFileName +
                  "); events are kept in memory until it is free (give each instance of the application its own BufferDirectory)."
                : "Bento: the buffer directory failed while " + during + " (" + ex.GetType().Name + ": " + Describe(ex) +
                  "); events are kept in memory and the directory is tried again. Events already written stay there for the next process.";
            _problem("buffer:failed", message, true);
        }

        /// <summary>Plans the next attempt to use the directory (real time), and wakes the loop for it.</summary>
        private void PlanRetry()
        {
            if (_disposed) return;
            _reopenBackoff = _reopenBackoff == TimeSpan.Zero ? ReopenBackoff : TimeSpan.FromTicks(Math.Min(MaxReopenBackoff.Ticks, _reopenBackoff.Ticks * 2));
            _reopenAt = System.Diagnostics.Stopwatch.GetTimestamp() + (long)(_reopenBackoff.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
            _reopenTimer?.Dispose();
            using (ExecutionContext.SuppressFlow())
                _reopenTimer = new Timer(static s => ((DurableBuffer)s!)._wake(), this, _reopenBackoff + TimeSpan.FromMilliseconds(1), Timeout.InfiniteTimeSpan);
        }

        /// <summary>
        /// While the directory cannot be used: once the backoff has passed, tries it again (recreating a deleted one,
        /// taking a lock another process released, and sending what it left). Called by the loop at each turn.
        /// </summary>
        public void RetryIfDue()
        {
            if (!_failed || _disposed || _reopenAt == 0 || System.Diagnostics.Stopwatch.GetTimestamp() < _reopenAt) return;
            _reopenAt = 0;
            if (_lock != null && _files.Exists(Path.Combine(_directory, LockFileName)))
            {
                // The directory is still ours (a full disk, a failed write): the next commit starts a new segment.
                _failed = false;
                return;
            }
            // Never opened, or deleted from outside: what the list holds of files that are gone is lost.
            ForgetMissing();
            _lock?.Dispose();
            _lock = null;
            var before = _recovered;
            var failure = TryOpen();
            if (failure != null)
            {
                ReportUnusable(failure, "opening it again");
                PlanRetry();
                return;
            }
            _problem("buffer:reopened", "Bento: the buffer directory is in use again; new events go to disk.", false);
            if (_recovered > before)
            {
                _offered(_recovered - before);
                _information("buffer:recovered", "Bento: " + (_recovered - before).ToString(CultureInfo.InvariantCulture) +
                    " events left in the buffer directory by an earlier process are sent first.");
            }
        }

        /// <summary>
        /// Segments whose file was deleted from outside (a tmp cleaner, an operator): their records not read yet are gone,
        /// counted <c>buffer_lost</c> and reported, and the segments forgotten. Called before anything is called deferred.
        /// </summary>
        public void ForgetMissing()
        {
            for (var i = 0; i < _segments.Count;)
            {
                var segment = _segments[i];
                if (segment == _readSegment || _files.Exists(segment.Path))
                {
                    i++;
                    continue;
                }
                Lose(segment);
            }
        }

        private void Lose(SegmentInfo segment)
        {
            if (segment == _active)
            {
                lock (_io)
                {
                    _activeStream?.Dispose();
                    _activeStream = null;
                    _active = null;
                }
            }
            if (segment.Id > _readAfterId) _readAfterId = Math.Max(_readAfterId, segment.Id);
            var lost = segment.Unread;
            segment.Unread = 0;
            _segments.Remove(segment);
            _totalBytes -= segment.Length;
            if (lost > 0)
            {
                _count(DropReason.BufferLost, lost);
                _problem("buffer:lost", "Bento: a buffer segment was deleted from outside the pipeline (segment " + segment.Id.ToString(CultureInfo.InvariantCulture) +
                    "; events lost: " + lost.ToString(CultureInfo.InvariantCulture) + ").", true);
            }
        }

        /// <summary>Whether the segment of <paramref name="position"/> is still on disk.</summary>
        public bool IsOnDisk(BufferPosition position)
            => !position.IsNone && _files.Exists(Path.Combine(_directory, BufferDirectoryLock.SegmentName(position.Segment)));

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
            if (_pendingCount == 0) _pendingSince = System.Diagnostics.Stopwatch.GetTimestamp();
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
                CloseReader();
                _readAfterId = segment.Id;
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
            else if (_readSegment != null && _readSegment.Unread > 0) _readSegment.Unread--;
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
                if (_readRetryAt != 0)
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

        private bool PeekNext()
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
                        _peekedMemory = false;
                        _peekSequence = segment.Recovered ? 0 : RecordFrame.Sequence(_reader.Payload);
                        _peekEnd = new BufferPosition(segment.Id, _reader.Position);
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
            if (_memory.Count > 0)
            {
                _peekedMemory = true;
                _peekSequence = _memory.Peek().Sequence;
                _peekEnd = BufferPosition.None;
                return true;
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
            _reader?.Dispose();
            _reader = null;
            _readSegment = null;
        }

        /// <summary>Bento settled every event up to <paramref name="end"/>: the checkpoint moves there and finished segments go.</summary>
        public void Acknowledge(BufferPosition end)
        {
            if (end.IsNone || _lock is null) return;
            _acknowledged = end;
            try
            {
                // The checkpoint is durable before any segment it covers is unlinked: a crash in between costs at most
                // a resend, never a segment of waiting events whose checkpoint is lost.
                WriteCheckpoint(end);
                while (_segments.Count > 0)
                {
                    var first = _segments[0];
                    var finished = first.Id < end.Segment || (first.Id == end.Segment && first.Sealed && end.Offset >= first.Length);
                    if (!finished || first == _active || first == _readSegment) break;
                    Remove(first);
                }
            }
            catch (Exception ex) when (IsIoFailure(ex))
            {
                _problem("buffer:checkpoint", "Bento: the buffer's checkpoint could not be written (" + ex.GetType().Name +
                    "); the next process may send some delivered events again.", true);
            }
        }

        private void WriteCheckpoint(BufferPosition position)
        {
            var content = new byte[20];
            BinaryPrimitives.WriteInt64LittleEndian(content, position.Segment);
            BinaryPrimitives.WriteInt64LittleEndian(content.AsSpan(8), position.Offset);
            BinaryPrimitives.WriteUInt32LittleEndian(content.AsSpan(16), Crc32.HashToUInt32(content.AsSpan(0, 16)));
            _files.ReplaceSmallFile(Path.Combine(_directory, CheckpointFileName), content);
        }

        private void DeleteCheckpoint()
        {
            _files.Delete(Path.Combine(_directory, CheckpointFileName));
            _files.SyncDirectory(_directory);
        }

        private BufferPosition ReadCheckpoint()
        {
            var content = _files.ReadSmallFile(Path.Combine(_directory, CheckpointFileName));
            if (content is null || content.Length != 20) return BufferPosition.None;
            if (Crc32.HashToUInt32(content.AsSpan(0, 16)) != BinaryPrimitives.ReadUInt32LittleEndian(content.AsSpan(16))) return BufferPosition.None;
            return new BufferPosition(BinaryPrimitives.ReadInt64LittleEndian(content), BinaryPrimitives.ReadInt64LittleEndian(content.AsSpan(8)));
        }

        /// <summary>Finds what earlier processes left after the checkpoint, and counts its valid records.</summary>
        private void Recover()
        {
            var checkpoint = ReadCheckpoint();
            var found = new List<(long Id, string Path)>();
            foreach (var path in _files.ListFiles(_directory, SegmentPattern))
            {
                if (long.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out var id)) found.Add((id, path));
            }
            found.Sort((a, b) => a.Id.CompareTo(b.Id));
            // New segments are numbered past the checkpoint too: a checkpoint left without its segments must never
            // make this process's segments look already delivered to the next one.
            if (!checkpoint.IsNone) _nextId = Math.Max(_nextId, checkpoint.Segment + 1);
            foreach (var (id, path) in found)
            {
                _nextId = Math.Max(_nextId, id + 1);
                if (_segments.Exists(s => s.Id == id)) continue; // known already (the directory opened again)
                if (!checkpoint.IsNone && id < checkpoint.Segment)
                {
                    _files.Delete(path);
                    continue;
                }
                var segment = new SegmentInfo(id, path, recovered: true) { Length = _files.Length(path), Sealed = true };
                if (!checkpoint.IsNone && id == checkpoint.Segment) segment.Start = Math.Min(checkpoint.Offset, segment.Length);
                var damaged = false;
                using (var reader = new SegmentReader(_files.OpenRead(path), segment.Start))
                {
                    while (true)
                    {
                        var result = reader.Next(segment.Length);
                        if (result == SegmentReadResult.End) break;
                        if (result == SegmentReadResult.Damaged)
                        {
                            damaged = true;
                            continue;
                        }
                        segment.Unread++;
                        segment.NewestWritten = Math.Max(segment.NewestWritten, RecordFrame.WrittenAt(reader.Payload));
                    }
                }
                if (segment.Unread == 0 && !damaged)
                {
                    _files.Delete(path);
                    continue;
                }
                _segments.Add(segment);
                _totalBytes += segment.Length;
                _recovered += segment.Unread;
            }
            _acknowledged = checkpoint;
            if (_segments.Count == 0 && !checkpoint.IsNone) DeleteCheckpoint();
        }

        // ----- dead letters -----

        /// <summary>Keeps an event Bento refused on its own in the dead-letter file.</summary>
        public void DeadLetter(ReadOnlySpan<byte> json, int status, string reason)
        {
            if (_deadLetters is null) return;
            try
            {
                _deadLetters.Write(json, status, reason, _time.GetUtcNow());
            }
            catch (Exception ex) when (IsIoFailure(ex))
            {
                _problem("buffer:dead-letter", "Bento: a refused event could not be written to the dead-letter file (" + ex.GetType().Name + ").", true);
            }
        }

        /// <summary>Writes what is pending, fsyncs, and releases the directory: what is not delivered stays for the next process.</summary>
        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            _syncTimer?.Dispose();
            _readTimer?.Dispose();
            _reopenTimer?.Dispose();
            try
            {
                Commit();
                if (!_failed) Seal();
                CloseReader();
                // Everything delivered: leave an empty directory behind.
                if (_segments.Count > 0 && !_acknowledged.IsNone)
                {
                    var last = _segments[_segments.Count - 1];
                    if (_acknowledged.Segment == last.Id && _acknowledged.Offset >= last.Length)
                    {
                        while (_segments.Count > 0) Remove(_segments[0]);
                    }
                }
                // A checkpoint without segments would only mislead the next process: it goes with the last of them.
                if (_segments.Count == 0 && !_acknowledged.IsNone) DeleteCheckpoint();
            }
            catch (Exception ex) when (IsIoFailure(ex))
            {
                _problem("buffer:close", "Bento: closing the buffer directory failed (" + ex.GetType().Name + ").", true);
            }
            finally
            {
                _deadLetters?.Dispose();
                _lock?.Dispose();
                BufferDirectoryLock.Unclaim(_directory);
            }
        }

        private static bool IsIoFailure(Exception ex) => ex is IOException || ex is UnauthorizedAccessException || ex is NotSupportedException || ex is System.Security.SecurityException;


        /// <summary>The kind of failure without any path or content: a diagnostic must never carry an event body.</summary>
        private static string Describe(Exception ex) => ex switch
        {
            UnauthorizedAccessException => "access denied",
            PathTooLongException => "path too long",
            DirectoryNotFoundException => "directory not found",
            _ when (ex.HResult & 0xFFFF) == 112 || ex.HResult == 28 => "disk full",
            _ => "I/O error",
        };
    }
}
