using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Hashing;
using System.Linq;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks;
using BentoSinks.Durable;
using Serilog.Core;
using static Serilog.Sinks.Bento.Tests.DurableLoggers;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary>
    /// Whose leftovers a pipeline sends when it opens the buffer directory: those of sibling numbered subfolders of its
    /// kind and site (once each, never twice), and those of the flat layout of earlier versions only once their site is
    /// known.
    /// </summary>
    [Collection("SelfLog")]
    public class DurableLeftoversTests
    {
        // Bento unreachable, at the default Period (DurableLoggers' logger retries every 50 ms).
        private static Logger Unreachable(string directory) => DurableLoggers.Unreachable(directory, o => o.Period = BentoOptions.DefaultPeriod);

        private static int[] Range(params (int From, int Count)[] ranges) => ranges.SelectMany(r => Enumerable.Range(r.From, r.Count)).ToArray();

        // Review finding: what a second sink of one kind left (in serilog-2) was read again only by a process that again
        // ran two such sinks on the directory.
        [Fact]
        public async Task Leftovers_of_a_second_sink_are_sent_by_the_next_process_even_with_one_sink()
        {
            using var directory = new DurableDirectory();
            using (var a = Unreachable(directory.Path))
            using (var b = Unreachable(directory.Path))
            {
                Emit(a, 0, 5);
                Emit(b, 100, 5);
            }
            Assert.Equal(10, directory.CountRecords());
            Assert.True(Directory.Exists(Path.Combine(directory.Path, "serilog-2")));

            await using var emulator = await BentoEmulator.StartAsync();
            var c = Delivering(emulator, directory.Path);
            await c.DisposeAsync();
            Assert.Equal(Range((0, 5), (100, 5)), emulator.ReceivedNumbers().OrderBy(n => n).ToArray());
            Assert.Equal(0, directory.CountRecords());
        }

        // Two sinks again in the next process: each leftover is sent once, whichever sink takes it; and a sibling's
        // checkpoint is honoured (what it had delivered of a segment is not sent again).
        [Fact]
        public async Task Leftovers_of_sibling_subfolders_are_sent_once_and_from_their_checkpoint()
        {
            using var directory = new DurableDirectory();
            using (var a = Unreachable(directory.Path))
            using (var b = Unreachable(directory.Path))
            {
                Emit(a, 0, 5);
                Emit(b, 100, 5);
            }
            // serilog-2 had delivered its first 3 events: its checkpoint points past them.
            var sibling = Path.Combine(directory.Path, "serilog-2");
            var segment = Directory.GetFiles(sibling, DurableBuffer.SegmentPattern).Single();
            var offsets = DurableDirectory.RecordOffsets(segment);
            WriteCheckpoint(sibling, long.Parse(Path.GetFileNameWithoutExtension(segment), System.Globalization.CultureInfo.InvariantCulture), offsets[3]);

            await using var emulator = await BentoEmulator.StartAsync();
            var c = Delivering(emulator, directory.Path);
            var d = Delivering(emulator, directory.Path);
            Emit(d, 200, 2);
            await c.DisposeAsync();
            await d.DisposeAsync();
            Assert.Equal(Range((0, 5), (103, 2), (200, 2)), emulator.ReceivedNumbers().OrderBy(n => n).ToArray());
            Assert.Equal(0, directory.CountRecords());
        }

        // Review finding: leftovers of the flat layout (segments directly in the directory, from an earlier version) were
        // taken by the first pipeline of any site that opened the directory. They name no site: they stay, with a warning
        // that says how to hand them over, and go once the directory's own site file says whose they are.
        [Fact]
        public async Task Flat_layout_leftovers_that_name_no_site_are_sent_only_once_their_site_is_known()
        {
            using var directory = new DurableDirectory();
            using (var a = Unreachable(directory.Path)) Emit(a, 0, 5);
            // The flat layout of an earlier version: segments (and checkpoint) directly in the directory, no site file.
            foreach (var file in Directory.GetFiles(directory.Folder))
            {
                var name = Path.GetFileName(file);
                if (name.EndsWith(".bentoseg", StringComparison.Ordinal) || name == DurableBuffer.CheckpointFileName) File.Move(file, Path.Combine(directory.Path, name));
            }
            Directory.Delete(directory.Folder, recursive: true);
            Assert.Equal(5, directory.CountRecords());

            await using var emulator = await BentoEmulator.StartAsync();
            using (var selfLog = new SelfLogCapture())
            {
                var b = Delivering(emulator, directory.Path);
                Emit(b, 100, 3);
                await b.DisposeAsync();
                Assert.Equal(new[] { 100, 101, 102 }, emulator.ReceivedNumbers().OrderBy(n => n).ToArray());
                Assert.Equal(5, directory.CountRecords());
                Assert.Contains("name no site", selfLog.Text, StringComparison.Ordinal);
            }

            // Handed over as the warning says: the pipeline's site file copied into the directory itself.
            File.Copy(Path.Combine(directory.Folder, BufferDirectoryLock.OwnerFileName), Path.Combine(directory.Path, BufferDirectoryLock.OwnerFileName));
            var c = Delivering(emulator, directory.Path);
            await c.DisposeAsync();
            Assert.Equal(Range((0, 5), (100, 3)), emulator.ReceivedNumbers().OrderBy(n => n).ToArray());
            Assert.Equal(0, directory.CountRecords());
        }

        private static void WriteCheckpoint(string folder, long segment, long offset)
        {
            var content = new byte[20];
            BinaryPrimitives.WriteInt64LittleEndian(content, segment);
            BinaryPrimitives.WriteInt64LittleEndian(content.AsSpan(8), offset);
            BinaryPrimitives.WriteUInt32LittleEndian(content.AsSpan(16), Crc32.HashToUInt32(content.AsSpan(0, 16)));
            File.WriteAllBytes(Path.Combine(folder, DurableBuffer.CheckpointFileName), content);
        }
    }
}
