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
    /// When a pipeline opens its subfolder it also takes over the leftovers of sibling numbered subfolders of its kind
    /// and site, and those of the flat layout of earlier versions once their site is known (see <see cref="BufferLeftovers"/>).
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
        /// <remarks>
        /// A subfolder is kept for the site that wrote it (<see cref="OwnerFileName"/>): its events are sent only by a
        /// pipeline of that site, never under another site's keys (another tenant's logger on the same directory, or
        /// the next process's pipelines built in another order). A subfolder of another site is passed over.
        /// </remarks>
        public static string Claim(BufferFileSystem files, string root, string kind, string siteUuid)
        {
            var name = FolderFor(kind);
            var owner = OwnerOf(siteUuid);
            lock (Claimed)
            {
                for (var n = 1; ; n++)
                {
                    var path = Path.Combine(root, n == 1 ? name : name + "-" + n.ToString(CultureInfo.InvariantCulture));
                    if (Claimed.Contains(path) || HeldByOtherSite(files, path, owner)) continue;
                    Claimed.Add(path);
                    return path;
                }
            }
        }

        /// <summary>The file in a pipeline's subfolder that names the site its events belong to (a hash of the site UUID).</summary>
        public const string OwnerFileName = "site";

        /// <summary>What the owner file holds for <paramref name="siteUuid"/>: a hash, so the file says nothing about the site.</summary>
        public static byte[] OwnerOf(string siteUuid)
        {
            var hash = System.IO.Hashing.XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(siteUuid.Trim().ToLowerInvariant()));
            return Encoding.ASCII.GetBytes(hash.ToString("x16", CultureInfo.InvariantCulture));
        }

        private static bool HeldByOtherSite(BufferFileSystem files, string directory, byte[] owner)
        {
            byte[]? content;
            try { content = files.ReadSmallFile(Path.Combine(directory, OwnerFileName)); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { return false; } // tried, and reported, when opened
            return content != null && !content.AsSpan().SequenceEqual(owner);
        }

        /// <summary>Marks <paramref name="directory"/> (held under its lock) as the site's, unless it is already.</summary>
        private static void MarkOwner(BufferFileSystem files, string directory, byte[] owner)
        {
            var path = Path.Combine(directory, OwnerFileName);
            var content = files.ReadSmallFile(path);
            if (content != null && content.AsSpan().SequenceEqual(owner)) return;
            files.ReplaceSmallFile(path, owner);
        }

        /// <summary>Claims <paramref name="directory"/> unless a live pipeline of this process holds it (released by <see cref="Unclaim"/>).</summary>
        public static bool TryReserve(string directory)
        {
            lock (Claimed) return Claimed.Add(directory);
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
        /// Creates the pipeline's subfolder of <paramref name="root"/> (private), takes its lock, marks it as the site's and
        /// moves in the leftovers of sibling subfolders and of the flat layout (<see cref="BufferLeftovers"/>), numbered from
        /// <paramref name="nextId"/> on (which it advances). Throws <see cref="IOException"/> (a sharing violation when
        /// another process holds it) or another I/O exception. <paramref name="flatOfUnknownSite"/>: flat-layout leftovers
        /// that name no site stay where they are.
        /// </summary>
        public static FileStream Acquire(BufferFileSystem files, string root, string directory, string folderName, string siteUuid, ref long nextId, out bool flatOfUnknownSite)
        {
            flatOfUnknownSite = false;
            files.CreatePrivateDirectory(root);
            files.CreatePrivateDirectory(directory);
            var held = files.OpenLock(Path.Combine(directory, DurableBuffer.LockFileName));
            var owner = OwnerOf(siteUuid);
            try
            {
                MarkOwner(files, directory, owner);
            }
            catch
            {
                held.Dispose();
                throw;
            }
            // What cannot be taken over stays where it is (another process of an earlier version, a read-only file).
            try { nextId = BufferLeftovers.NextId(files, directory, nextId); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { return held; }
            try { BufferLeftovers.AdoptFlatLayout(files, root, directory, owner, ref nextId, out flatOfUnknownSite); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { }
            try { BufferLeftovers.AdoptSiblings(files, root, directory, folderName, owner, ref nextId); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { }
            return held;
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
