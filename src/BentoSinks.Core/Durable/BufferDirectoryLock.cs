using System;
using System.Globalization;
using System.IO;
using System.Text;

namespace BentoSinks.Durable
{
    /// <summary>
    /// Where a pipeline keeps its buffer in <c>BufferDirectory</c>, and the lock that makes it its own: each pipeline of
    /// a process gets a subfolder named for its kind (<c>serilog</c>, <c>opentelemetry-traces</c>, <c>opentelemetry-logs</c>;
    /// <c>serilog-2</c> for a second Serilog sink alive on the same directory in the same process), so the trace and log
    /// exporters, and Serilog beside them, can share one directory (<c>BENTO_BUFFER_DIRECTORY</c>).
    /// </summary>
    /// <remarks>
    /// Leftovers of the flat layout of earlier versions (segments directly in the directory) are moved, with their
    /// checkpoint, into the subfolder of the first pipeline that opens the directory while its own subfolder holds
    /// nothing yet; that pipeline sends them first. They are taken under the directory's old lock file, so a process of
    /// an earlier version still running on the directory keeps them.
    /// </remarks>
    internal static class BufferDirectoryLock
    {
        /// <summary>The subfolders this process's live pipelines hold (full paths).</summary>
        private static readonly System.Collections.Generic.HashSet<string> Claimed = new System.Collections.Generic.HashSet<string>(StringComparer.Ordinal);

        /// <summary>
        /// The first subfolder of <paramref name="root"/> for pipelines of <paramref name="kind"/> that no live pipeline of
        /// this process holds (<c>serilog</c>, then <c>serilog-2</c>, …), claimed until <see cref="Unclaim"/>. Numbered by
        /// directory, not by process: the next process's first Serilog sink reads what the last one's first left.
        /// </summary>
        public static string Claim(string root, string kind)
        {
            var name = FolderFor(kind);
            lock (Claimed)
            {
                for (var n = 1; ; n++)
                {
                    var path = Path.Combine(root, n == 1 ? name : name + "-" + n.ToString(CultureInfo.InvariantCulture));
                    if (Claimed.Add(path)) return path;
                }
            }
        }

        /// <summary>The pipeline holding <paramref name="directory"/> has ended.</summary>
        public static void Unclaim(string directory)
        {
            lock (Claimed) Claimed.Remove(directory);
        }

        /// <summary>The subfolder of the pipeline named <paramref name="pipelineTag"/>: lowercase letters and digits, other characters as '-'.</summary>
        public static string FolderFor(string pipelineTag)
        {
            var sb = new StringBuilder(pipelineTag.Length);
            foreach (var c in pipelineTag.ToLowerInvariant())
            {
                var keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
                if (keep) sb.Append(c);
                else if (sb.Length > 0 && sb[sb.Length - 1] != '-') sb.Append('-');
            }
            var name = sb.ToString().Trim('-');
            return name.Length == 0 ? "pipeline" : name;
        }

        /// <summary>
        /// Creates the pipeline's subfolder of <paramref name="root"/> (private), takes its lock and moves in what the flat
        /// layout left. Throws <see cref="IOException"/> (a sharing violation when another process holds it) or another
        /// I/O exception.
        /// </summary>
        public static FileStream Acquire(BufferFileSystem files, string root, string directory)
        {
            files.CreatePrivateDirectory(root);
            files.CreatePrivateDirectory(directory);
            var held = files.OpenLock(Path.Combine(directory, DurableBuffer.LockFileName));
            try
            {
                AdoptFlatLayout(files, root, directory);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                // The flat leftovers stay where they are (another process of an earlier version, or a read-only file).
            }
            return held;
        }

        private static void AdoptFlatLayout(BufferFileSystem files, string root, string directory)
        {
            var flat = files.ListFiles(root, DurableBuffer.SegmentPattern);
            if (!flat.GetEnumerator().MoveNext()) return;
            if (files.ListFiles(directory, DurableBuffer.SegmentPattern).GetEnumerator().MoveNext()) return;
            if (files.ReadSmallFile(Path.Combine(directory, DurableBuffer.CheckpointFileName)) != null) return;
            using var rootLock = files.OpenLock(Path.Combine(root, DurableBuffer.LockFileName));
            var checkpoint = Path.Combine(root, DurableBuffer.CheckpointFileName);
            if (files.ReadSmallFile(checkpoint) != null) files.Move(checkpoint, Path.Combine(directory, DurableBuffer.CheckpointFileName));
            foreach (var segment in files.ListFiles(root, DurableBuffer.SegmentPattern))
                files.Move(segment, Path.Combine(directory, Path.GetFileName(segment)));
            files.SyncDirectory(root);
            files.SyncDirectory(directory);
        }

        /// <summary>A sharing or lock violation (Windows' 32/33; on Unix .NET reports a held lock the same way).</summary>
        public static bool IsSharingViolation(Exception ex)
        {
            if (!(ex is IOException)) return false;
            var code = ex.HResult & 0xFFFF;
            return code == 32 || code == 33 || ex.GetType() == typeof(IOException) && ex.HResult == 11;
        }

        /// <summary>The file or its directory is gone (deleted from outside).</summary>
        public static bool IsMissing(Exception ex) => ex is FileNotFoundException || ex is DirectoryNotFoundException;

        /// <summary>A segment's file name.</summary>
        public static string SegmentName(long id) => id.ToString("D12", CultureInfo.InvariantCulture) + ".bentoseg";
    }
}
