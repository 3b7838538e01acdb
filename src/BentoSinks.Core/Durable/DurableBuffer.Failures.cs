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
    /// <summary>The durable buffer, when its directory cannot be used: events in memory meanwhile, the directory tried again with a backoff, segments deleted from outside counted as lost.</summary>
    internal sealed partial class DurableBuffer
    {
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
            ReportFlatOfUnknownSite();
            if (_recovered > before)
            {
                _offered(_recovered - before);
                _information("buffer:recovered", "Bento: " + (_recovered - before).ToString(CultureInfo.InvariantCulture) +
                    " events left in the buffer directory by an earlier process are sent first.");
            }
        }

        /// <summary>
        /// Segments whose file was deleted from outside (a tmp cleaner, an operator): their records not read yet are gone,
        /// counted <c>buffer_lost</c> and reported, and the segments forgotten. Called before anything is called deferred
        /// (<paramref name="atEnd"/>: then the segment being read counts too; while running, its open file can still be
        /// read, so its events are still delivered).
        /// </summary>
        public void ForgetMissing(bool atEnd = false)
        {
            for (var i = 0; i < _segments.Count;)
            {
                var segment = _segments[i];
                if ((segment == _readSegment && !atEnd) || _files.Exists(segment.Path))
                {
                    i++;
                    continue;
                }
                Lose(segment);
            }
        }

        private void Lose(SegmentInfo segment)
        {
            if (segment == _readSegment)
            {
                CloseReader();
                _peeked = false;
            }
            if (segment == _active)
            {
                lock (_io)
                {
                    _activeStream?.Dispose();
                    _activeStream = null;
                    _active = null;
                }
            }
            // The reader's place is never moved here: an older segment may still wait for a read retry, and
            // OpenNextSegment takes the next segment left in the list anyway (this one is gone from it).
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
        {
            if (position.IsNone) return false;
            var segment = _segments.Find(s => s.Id == position.Segment);
            // An adopted segment's name carries where it starts (see BufferLeftovers): look its path up.
            return _files.Exists(segment?.Path ?? Path.Combine(_directory, BufferDirectoryLock.SegmentName(position.Segment)));
        }
    }
}
