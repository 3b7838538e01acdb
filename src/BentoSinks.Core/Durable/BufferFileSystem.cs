using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace BentoSinks.Durable
{
    /// <summary>
    /// Every file operation of the durable buffer, in one place: the seam through which tests inject I/O failures (a full
    /// disk, a read-only directory). Files and the directory are made private to their owner (0700/0600 on Unix).
    /// </summary>
    internal class BufferFileSystem
    {
        public static readonly BufferFileSystem Default = new BufferFileSystem();

        public virtual void CreatePrivateDirectory(string path)
        {
            Directory.CreateDirectory(path);
            PrivateFiles.RestrictDirectory(path);
        }

        public virtual IEnumerable<string> ListFiles(string directory, string pattern) => Directory.EnumerateFiles(directory, pattern).ToList();

        /// <summary>The subdirectories of <paramref name="directory"/> (full paths).</summary>
        public virtual IEnumerable<string> ListDirectories(string directory) => Directory.EnumerateDirectories(directory).ToList();

        /// <summary>Opens (or creates) the lock file with no sharing: a second process gets an <see cref="IOException"/>.</summary>
        public virtual FileStream OpenLock(string path)
            => PrivateFiles.Open(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);

        public virtual FileStream CreateSegment(string path)
            => PrivateFiles.Open(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read | FileShare.Delete);

        public virtual Stream OpenRead(string path)
            => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);

        public virtual void Write(FileStream stream, byte[] buffer, int count) => stream.Write(buffer, 0, count);

        /// <summary>Makes what was written durable (fsync).</summary>
        public virtual void Sync(FileStream stream) => stream.Flush(flushToDisk: true);

        public virtual long Length(string path) => new FileInfo(path).Length;

        /// <summary>Whether the file exists (a segment deleted from outside does not).</summary>
        public virtual bool Exists(string path) => File.Exists(path);

        public virtual void Delete(string path) => File.Delete(path);

        public virtual byte[]? ReadSmallFile(string path) => File.Exists(path) ? File.ReadAllBytes(path) : null;

        /// <summary>
        /// Replaces a small file atomically and durably: the content goes to a temporary file, which is fsynced and
        /// renamed over the old one; then the directory entry is fsynced.
        /// </summary>
        public virtual void ReplaceSmallFile(string path, byte[] content)
        {
            var temporary = path + ".tmp";
            using (var stream = PrivateFiles.Open(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                stream.Write(content, 0, content.Length);
                stream.Flush(flushToDisk: true);
            }
            Move(temporary, path);
            SyncDirectory(Path.GetDirectoryName(path)!);
        }

        /// <summary>
        /// Makes the directory's entries durable (a created, renamed or deleted file) where the platform allows it:
        /// fsync on the directory on Unix; Windows has no such call (NTFS journals its metadata).
        /// </summary>
        public virtual void SyncDirectory(string directory) => PrivateFiles.SyncDirectory(directory);

        /// <summary>Cuts a file back to <paramref name="length"/> bytes and fsyncs it.</summary>
        public virtual void Truncate(FileStream stream, long length)
        {
            stream.SetLength(length);
            stream.Position = length;
            stream.Flush(flushToDisk: true);
        }

        /// <summary>Appends to a private file, creating it when missing.</summary>
        public virtual void Append(string path, byte[] content, int count)
        {
            using var stream = PrivateFiles.Open(path, FileMode.Append, FileAccess.Write, FileShare.Read);
            stream.Write(content, 0, count);
        }

        public virtual void Move(string from, string to)
        {
#if NET8_0_OR_GREATER
            File.Move(from, to, overwrite: true);
#else
            if (File.Exists(to)) File.Delete(to);
            File.Move(from, to);
#endif
        }
    }
}
