using System;
using System.Buffers.Binary;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using BentoSinks.Durable;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary>A buffer directory of one test's own (deleted afterwards), and what its segment files hold.</summary>
    internal sealed class DurableDirectory : IDisposable
    {
        /// <summary>An endpoint on loopback where nothing listens: every request fails at once (connection refused).</summary>
        public const string Unreachable = "http://127.0.0.1:1/api/v1";

        public DurableDirectory() => Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "bento-durable-tests", Guid.NewGuid().ToString("N"));

        public string Path { get; }

        /// <summary>The subfolder of the (first) Serilog pipeline on the directory.</summary>
        public string Folder => System.IO.Path.Combine(Path, "serilog");

        /// <summary>The segment files, in every pipeline's subfolder (and the flat layout of earlier versions).</summary>
        public string[] Segments => Directory.Exists(Path) ? Directory.GetFiles(Path, DurableBuffer.SegmentPattern, SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal).ToArray() : Array.Empty<string>();

        /// <summary>The dead-letter file of the Serilog pipeline (in its subfolder).</summary>
        public string DeadLetters => Directory.Exists(Path) ? Directory.GetFiles(Path, DeadLetterFile.FileName, SearchOption.AllDirectories).FirstOrDefault() ?? System.IO.Path.Combine(Path, DeadLetterFile.FileName) : System.IO.Path.Combine(Path, DeadLetterFile.FileName);

        /// <summary>The bytes of the segment files; one the pipeline deletes between listing and reading (sent, or dropped past the size limit) holds none.</summary>
        public long SegmentBytes => Segments.Sum(f =>
        {
            var file = new FileInfo(f);
            return file.Exists ? TryLength(file) : 0;
        });

        private static long TryLength(FileInfo file)
        {
            try { return file.Length; }
            catch (FileNotFoundException) { return 0; }
        }

        /// <summary>Valid records in the segment files (read as the buffer reads them).</summary>
        public int CountRecords()
        {
            var n = 0;
            foreach (var file in Segments)
            {
                using var reader = new SegmentReader(new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete), 0);
                var length = new FileInfo(file).Length;
                SegmentReadResult result;
                while ((result = reader.Next(length)) != SegmentReadResult.End)
                    if (result == SegmentReadResult.Record) n++;
            }
            return n;
        }

        /// <summary>The file offsets of the records of <paramref name="file"/>.</summary>
        public static long[] RecordOffsets(string file)
        {
            var bytes = File.ReadAllBytes(file);
            using var reader = new SegmentReader(new MemoryStream(bytes), 0);
            var offsets = new System.Collections.Generic.List<long>();
            var at = 0L;
            while (reader.Next(bytes.Length) == SegmentReadResult.Record)
            {
                offsets.Add(at);
                at = reader.Position;
            }
            return offsets.ToArray();
        }

        /// <summary>Waits until <paramref name="done"/> holds (records on disk, a count, a file); fails the test past <paramref name="timeoutMs"/>.</summary>
        public static Task Until(Func<bool> done, int timeoutMs = 30_000) => Eventually.Until(done, TimeSpan.FromMilliseconds(timeoutMs));

        /// <summary>
        /// Whether the Serilog pipeline's checkpoint covers every record in its segment files: Bento's answer for each of
        /// them has been taken in and acknowledged (the checkpoint is written before finished segments are unlinked).
        /// </summary>
        public bool AllAcknowledged()
        {
            byte[] checkpoint;
            try { checkpoint = File.ReadAllBytes(System.IO.Path.Combine(Folder, DurableBuffer.CheckpointFileName)); }
            catch (IOException) { return false; } // none yet (or being replaced)
            if (checkpoint.Length != 20) return false;
            var segment = BinaryPrimitives.ReadInt64LittleEndian(checkpoint);
            var offset = BinaryPrimitives.ReadInt64LittleEndian(checkpoint.AsSpan(8));
            foreach (var file in Directory.GetFiles(Folder, DurableBuffer.SegmentPattern))
            {
                var id = long.Parse(System.IO.Path.GetFileNameWithoutExtension(file), CultureInfo.InvariantCulture);
                if (id > segment || (id == segment && new FileInfo(file).Length > offset)) return false;
            }
            return true;
        }

        public void Dispose()
        {
            try { if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true); }
            catch (IOException) { /* a child process still closing */ }
        }
    }
}
