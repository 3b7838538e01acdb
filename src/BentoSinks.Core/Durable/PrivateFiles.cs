using System;
using System.IO;
using System.Runtime.InteropServices;

namespace BentoSinks.Durable
{
    /// <summary>
    /// Files and directories only their owner can read: the buffer holds emails. On Unix the directory is 0700 and each
    /// file is created 0600 (on net8.0 with <c>UnixCreateMode</c>, so no other user can open it even for an instant; on
    /// netstandard2.0 hosts through libc's <c>chmod</c> right after creation). On Windows the directory inherits its
    /// parent's access control list: put it under the service account's profile or a folder only it can read.
    /// </summary>
    internal static class PrivateFiles
    {
        private static readonly bool IsUnix = !RuntimeInformation.IsOSPlatform(OSPlatform.Windows);
        private static volatile bool _directorySyncUnsupported;

        public static void RestrictDirectory(string path)
        {
#if NET8_0_OR_GREATER
            if (OperatingSystem.IsWindows()) return;
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
#else
            if (IsUnix) NativeMethods.Chmod(path, Convert.ToInt32("700", 8));
#endif
        }

        public static FileStream Open(string path, FileMode mode, FileAccess access, FileShare share)
        {
#if NET8_0_OR_GREATER
            var options = new FileStreamOptions { Mode = mode, Access = access, Share = share, BufferSize = 0 };
            if (!OperatingSystem.IsWindows() && mode != FileMode.Open) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            var stream = new FileStream(path, options);
            // A file that existed before (created by an older version, or copied in) is made private too.
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(stream.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            return stream;
#else
            var stream = new FileStream(path, mode, access, share, 1);
            if (IsUnix) NativeMethods.Chmod(path, Convert.ToInt32("600", 8));
            return stream;
#endif
        }

        /// <summary>
        /// fsyncs a directory, so that a file created, renamed or deleted in it survives a power loss (Unix: libc's
        /// <c>open</c>, <c>fsync</c>, <c>close</c>; .NET cannot open a directory). Skipped on Windows, and where libc or
        /// the file system does not support it.
        /// </summary>
        public static void SyncDirectory(string path)
        {
            if (!IsUnix || _directorySyncUnsupported) return;
            try
            {
                if (!DirectorySync.Sync(path)) _directorySyncUnsupported = true;
            }
            catch (EntryPointNotFoundException) { _directorySyncUnsupported = true; }
            catch (DllNotFoundException) { _directorySyncUnsupported = true; }
        }

        private static class DirectorySync
        {
            [DllImport("libc", EntryPoint = "open", SetLastError = true)]
            [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code in every target; this runs once per segment and checkpoint
            private static extern int Open(byte[] nullTerminatedUtf8Path, int flags);

            [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
            [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
            private static extern int Fsync(int descriptor);

            [DllImport("libc", EntryPoint = "close", SetLastError = true)]
            [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
            private static extern int Close(int descriptor);
#pragma warning restore SYSLIB1054

            /// <summary>False when the directory cannot be opened or fsynced this way (then it is not tried again).</summary>
            public static bool Sync(string path)
            {
                var descriptor = Open(System.Text.Encoding.UTF8.GetBytes(path + "\0"), 0); // O_RDONLY
                if (descriptor < 0) return false;
                try
                {
                    return Fsync(descriptor) == 0;
                }
                finally
                {
                    _ = Close(descriptor);
                }
            }
        }

#if !NET8_0_OR_GREATER
        private static class NativeMethods
        {
            [DllImport("libc", EntryPoint = "chmod", SetLastError = true)]
            [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
            private static extern int ChmodNative(byte[] nullTerminatedUtf8Path, int mode);

            public static void Chmod(string path, int mode)
            {
                try
                {
                    var bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
                    if (ChmodNative(bytes, mode) != 0) throw new IOException("Could not make a buffer file private (chmod failed).");
                }
                catch (EntryPointNotFoundException) { /* not a libc platform: left to the directory's own permissions */ }
                catch (DllNotFoundException) { /* likewise */ }
            }
        }
#endif
    }
}
