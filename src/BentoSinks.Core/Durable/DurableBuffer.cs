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
    internal sealed partial class DurableBuffer : IDisposable
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
        private readonly string _siteUuid;
        private readonly string _folderName;
        private bool _flatOfUnknownSite; // the flat layout's leftovers name no site: they stay (reported)
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
        private long _pendingFirstSequence; // the sequence number of the oldest pending record
        private long _totalBytes;

        // Reading
        private SegmentInfo? _readSegment;
        private SegmentReader? _reader;
        private long _readAfterId = long.MinValue;
        private bool _peeked;
        private bool _peekedMemory;
        private bool _diskReady; // the reader holds the next record on disk, not taken yet
        private long _diskSequence;
        private BufferPosition _diskEnd;
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
            _siteUuid = settings.SiteUuid;
            _folderName = BufferDirectoryLock.FolderFor(pipelineKind);
            _directory = BufferDirectoryLock.Claim(files, _root, pipelineKind, _siteUuid);
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
                var next = _nextId;
                _lock = BufferDirectoryLock.Acquire(_files, _root, _directory, _folderName, _siteUuid, ref next, out _flatOfUnknownSite);
                _nextId = next;
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
            ReportFlatOfUnknownSite();
            if (_recovered > 0)
            {
                offered(_recovered);
                information("buffer:recovered", "Bento: " + _recovered.ToString(CultureInfo.InvariantCulture) +
                    " events left in the buffer directory by an earlier process are sent first.");
            }
            using (ExecutionContext.SuppressFlow())
                _syncTimer = new Timer(static s => ((DurableBuffer)s!).SyncTick(), this, SyncInterval, SyncInterval);
        }

        /// <summary>Flat-layout leftovers that name no site are never sent by guess: the application's log says how to hand them over.</summary>
        private void ReportFlatOfUnknownSite()
        {
            if (!_flatOfUnknownSite) return;
            _flatOfUnknownSite = false;
            _problem("buffer:flat", "Bento: the buffer directory holds events an earlier version left directly in it; they name no site, so they are not sent " +
                "(they could be another site's). To send them with this pipeline's site, copy the file '" + BufferDirectoryLock.OwnerFileName +
                "' from its subfolder '" + _folderName + "' into the buffer directory itself.", false);
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
