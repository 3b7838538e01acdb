using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.IO.Hashing;

namespace BentoSinks.Durable
{
    /// <summary>
    /// Leftovers a pipeline takes over when it opens its subfolder, besides its own: those of sibling numbered subfolders
    /// of its kind and site (<c>serilog-2</c>, made when two Serilog sinks shared the directory, is otherwise read only
    /// when a process again runs two of them), and those of the flat layout of earlier versions once their site is known
    /// (a <c>site</c> file in the directory itself that matches).
    /// </summary>
    /// <remarks>
    /// A take-over is a series of renames into the pipeline's subfolder, each atomic, under both folders' locks: a crash
    /// in the middle leaves every segment in exactly one folder, with a checkpoint that still covers it, so nothing is
    /// lost or sent twice. The moved segments get numbers after every segment (and the checkpoint) of the pipeline's
    /// folder; the one the source's checkpoint points into carries its start in its name (<c>000000000007@4096.bentoseg</c>),
    /// so what was already delivered of it is skipped.
    /// </remarks>
    internal static class BufferLeftovers
    {
        /// <summary>
        /// Moves into <paramref name="directory"/> (held) the leftovers of its sibling subfolders of
        /// <paramref name="folderName"/> whose site file is <paramref name="owner"/>, that no live pipeline of this process
        /// claims and whose lock can be taken (another process holding one keeps it). <paramref name="nextId"/> is advanced
        /// past every segment moved, even when a take-over fails midway (the next one must never reuse a name: a rename
        /// overwrites).
        /// </summary>
        public static void AdoptSiblings(BufferFileSystem files, string root, string directory, string folderName, byte[] owner, ref long nextId)
        {
            foreach (var sibling in files.ListDirectories(root))
            {
                if (string.Equals(sibling, directory, StringComparison.Ordinal) || !IsSibling(Path.GetFileName(sibling), folderName)) continue;
                // Reserved while it is moved: a pipeline built meanwhile takes the next number instead.
                if (!BufferDirectoryLock.TryReserve(sibling)) continue;
                try
                {
                    var site = files.ReadSmallFile(Path.Combine(sibling, BufferDirectoryLock.OwnerFileName));
                    if (site is null || !site.AsSpan().SequenceEqual(owner)) continue;
                    if (!HasSegments(files, sibling)) continue;
                    using (files.OpenLock(Path.Combine(sibling, DurableBuffer.LockFileName)))
                        MoveInto(files, sibling, directory, ref nextId);
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
                {
                    // Held by a live pipeline of another process, or unreadable: its leftovers stay where they are.
                }
                finally
                {
                    BufferDirectoryLock.Unclaim(sibling);
                }
            }
        }

        /// <summary>
        /// The flat layout's leftovers (segments directly in <paramref name="root"/>, from an earlier version): moved in
        /// when the directory's own site file is <paramref name="owner"/>, under the directory's old lock file (a process
        /// of the earlier version still running keeps them). Without a site file they could be any site's: they stay, and
        /// <paramref name="unknownSite"/> says so, for a warning.
        /// </summary>
        public static void AdoptFlatLayout(BufferFileSystem files, string root, string directory, byte[] owner, ref long nextId, out bool unknownSite)
        {
            unknownSite = false;
            if (!HasSegments(files, root)) return;
            var site = files.ReadSmallFile(Path.Combine(root, BufferDirectoryLock.OwnerFileName));
            if (site is null || !site.AsSpan().SequenceEqual(owner))
            {
                unknownSite = site is null;
                return;
            }
            using (files.OpenLock(Path.Combine(root, DurableBuffer.LockFileName)))
                MoveInto(files, root, directory, ref nextId);
        }

        /// <summary>The first segment number of <paramref name="directory"/> past its segments, its checkpoint and <paramref name="atLeast"/>.</summary>
        public static long NextId(BufferFileSystem files, string directory, long atLeast)
        {
            var next = atLeast;
            foreach (var path in files.ListFiles(directory, DurableBuffer.SegmentPattern))
            {
                if (TryParse(path, out var id, out _)) next = Math.Max(next, id + 1);
            }
            var checkpoint = ReadCheckpoint(files, directory);
            if (!checkpoint.IsNone) next = Math.Max(next, checkpoint.Segment + 1);
            return next;
        }

        /// <summary>
        /// Moves what <paramref name="from"/> holds after its checkpoint into <paramref name="into"/>, renumbered from
        /// <paramref name="nextId"/>, which is advanced at each rename: when one fails midway, those already moved keep
        /// their names out of the next take-over's way.
        /// </summary>
        private static void MoveInto(BufferFileSystem files, string from, string into, ref long nextId)
        {
            var checkpoint = ReadCheckpoint(files, from);
            var found = new List<(long Id, long Start, string Path)>();
            foreach (var path in files.ListFiles(from, DurableBuffer.SegmentPattern))
            {
                if (TryParse(path, out var id, out var start)) found.Add((id, start, path));
            }
            found.Sort((a, b) => a.Id.CompareTo(b.Id));
            foreach (var (id, start, path) in found)
            {
                if (!checkpoint.IsNone && id < checkpoint.Segment)
                {
                    files.Delete(path); // delivered
                    continue;
                }
                var from0 = !checkpoint.IsNone && id == checkpoint.Segment ? Math.Max(start, checkpoint.Offset) : start;
                files.Move(path, Path.Combine(into, SegmentName(nextId++, from0)));
            }
            files.SyncDirectory(into);
            var checkpointPath = Path.Combine(from, DurableBuffer.CheckpointFileName);
            if (files.ReadSmallFile(checkpointPath) != null) files.Delete(checkpointPath);
            files.SyncDirectory(from);
        }

        /// <summary>A segment's file name; one taken over from another folder carries where reading starts.</summary>
        public static string SegmentName(long id, long start)
            => start > 0 ? id.ToString("D12", CultureInfo.InvariantCulture) + "@" + start.ToString(CultureInfo.InvariantCulture) + ".bentoseg" : BufferDirectoryLock.SegmentName(id);

        /// <summary>Reads a segment file's number, and where reading starts in it (0 but for a segment taken over).</summary>
        public static bool TryParse(string path, out long id, out long start)
        {
            var name = Path.GetFileNameWithoutExtension(path);
            start = 0;
            var at = name.IndexOf('@');
            if (at < 0) return TryDigits(name, 0, name.Length, out id);
            return TryDigits(name, 0, at, out id) & TryDigits(name, at + 1, name.Length, out start);
        }

        /// <summary>A non-negative decimal number made of the characters [<paramref name="from"/>, <paramref name="to"/>) of <paramref name="text"/>.</summary>
        private static bool TryDigits(string text, int from, int to, out long value)
        {
            value = 0;
            if (from >= to || to - from > 18) return false;
            for (var i = from; i < to; i++)
            {
                var c = text[i];
                if (c < '0' || c > '9') return false;
                value = value * 10 + (c - '0');
            }
            return true;
        }

        /// <summary>The checkpoint of <paramref name="directory"/>, or none (missing or damaged).</summary>
        public static BufferPosition ReadCheckpoint(BufferFileSystem files, string directory)
        {
            var content = files.ReadSmallFile(Path.Combine(directory, DurableBuffer.CheckpointFileName));
            if (content is null || content.Length != 20) return BufferPosition.None;
            if (Crc32.HashToUInt32(content.AsSpan(0, 16)) != BinaryPrimitives.ReadUInt32LittleEndian(content.AsSpan(16))) return BufferPosition.None;
            return new BufferPosition(BinaryPrimitives.ReadInt64LittleEndian(content), BinaryPrimitives.ReadInt64LittleEndian(content.AsSpan(8)));
        }

        private static bool HasSegments(BufferFileSystem files, string directory)
        {
            foreach (var _ in files.ListFiles(directory, DurableBuffer.SegmentPattern)) return true;
            return false;
        }

        /// <summary><c>serilog</c> or <c>serilog-N</c> (N ≥ 2) for pipelines whose folder name is <c>serilog</c>.</summary>
        private static bool IsSibling(string name, string folderName)
        {
            if (string.Equals(name, folderName, StringComparison.Ordinal)) return true;
            if (!name.StartsWith(folderName + "-", StringComparison.Ordinal)) return false;
            var from = folderName.Length + 1;
            return from < name.Length && name[from] != '0' && TryDigits(name, from, name.Length, out var n) && n >= 2;
        }
    }
}
