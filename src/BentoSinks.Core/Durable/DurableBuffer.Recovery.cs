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
    /// <summary>The durable buffer, across processes: the checkpoint, acknowledged when Bento has settled a batch, and what an earlier process left, found when the directory opens.</summary>
    internal sealed partial class DurableBuffer
    {
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

        private BufferPosition ReadCheckpoint() => BufferLeftovers.ReadCheckpoint(_files, _directory);

        /// <summary>Finds what earlier processes left after the checkpoint, and counts its valid records.</summary>
        private void Recover()
        {
            var checkpoint = ReadCheckpoint();
            var found = new List<(long Id, long Start, string Path)>();
            foreach (var path in _files.ListFiles(_directory, SegmentPattern))
            {
                if (BufferLeftovers.TryParse(path, out var id, out var start)) found.Add((id, start, path));
            }
            found.Sort((a, b) => a.Id.CompareTo(b.Id));
            // New segments are numbered past the checkpoint too: a checkpoint left without its segments must never
            // make this process's segments look already delivered to the next one.
            if (!checkpoint.IsNone) _nextId = Math.Max(_nextId, checkpoint.Segment + 1);
            foreach (var (id, start, path) in found)
            {
                _nextId = Math.Max(_nextId, id + 1);
                if (_segments.Exists(s => s.Id == id)) continue; // known already (the directory opened again)
                if (!checkpoint.IsNone && id < checkpoint.Segment)
                {
                    _files.Delete(path);
                    continue;
                }
                var segment = new SegmentInfo(id, path, recovered: true) { Length = _files.Length(path), Sealed = true };
                // Taken over from another folder part-delivered: its name says where reading starts (BufferLeftovers).
                segment.Start = Math.Min(start, segment.Length);
                if (!checkpoint.IsNone && id == checkpoint.Segment) segment.Start = Math.Min(Math.Max(start, checkpoint.Offset), segment.Length);
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
    }
}
