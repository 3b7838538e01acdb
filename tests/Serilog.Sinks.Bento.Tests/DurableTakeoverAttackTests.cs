using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks;
using BentoSinks.Durable;
using Serilog.Core;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary>
    /// Taking over the leftovers of sibling subfolders when something goes wrong: a rename that fails midway, a sibling
    /// still held by a live owner. Every leftover is sent once, none is lost.
    /// </summary>
    [Collection("SelfLog")] // builds sinks: their pipelines must not share the metrics tag of another test's
    public class DurableTakeoverAttackTests
    {
        private const int SegmentsOf8KiB = 64 * 1024; // BufferSizeLimit: segments of 8 KiB, several per sibling

        // Bento unreachable, at the default Period (DurableLoggers' logger retries every 50 ms).
        private static Logger Unreachable(string directory)
            => DurableLoggers.Unreachable(directory, o => { o.Period = BentoOptions.DefaultPeriod; o.BufferSizeLimit = SegmentsOf8KiB; });

        private static Logger Delivering(BentoEmulator emulator, string directory, BufferFileSystem? files = null)
            => DurableLoggers.Delivering(emulator, directory, o =>
            {
                o.BufferSizeLimit = SegmentsOf8KiB;
                if (files != null) o.BufferFileSystem = files;
            });

        private static void Emit(ILogger logger, int from, int count) => DurableLoggers.Emit(logger, from, count, new string('x', 1000));

        private static int[] Range(params (int From, int Count)[] ranges) => ranges.SelectMany(r => Enumerable.Range(r.From, r.Count)).ToArray();

        /// <summary>Leftovers in serilog-2 and serilog-3, several segments each (three sinks alive at once, Bento unreachable).</summary>
        private static void LeaveInTwoSiblings(DurableDirectory directory)
        {
            using (var a = Unreachable(directory.Path))
            using (var b = Unreachable(directory.Path))
            using (var c = Unreachable(directory.Path))
            {
                Emit(b, 0, 20);
                Emit(c, 100, 20);
            }
            Assert.Equal(40, directory.CountRecords());
            Assert.True(Directory.GetFiles(Path.Combine(directory.Path, "serilog-2"), DurableBuffer.SegmentPattern).Length >= 2);
            Assert.True(Directory.GetFiles(Path.Combine(directory.Path, "serilog-3"), DurableBuffer.SegmentPattern).Length >= 2);
        }

        /// <summary>The second segment moved into the pipeline's folder from another folder fails once (ENOSPC on rename, or a sharing violation on Windows).</summary>
        private sealed class OneFailedTakeOverRename : BufferFileSystem
        {
            private int _moves;

            public override void Move(string from, string to)
            {
                var intoOther = !string.Equals(Path.GetDirectoryName(from), Path.GetDirectoryName(to), StringComparison.Ordinal);
                if (intoOther && to.EndsWith(".bentoseg", StringComparison.Ordinal) && Interlocked.Increment(ref _moves) == 2)
                    throw new IOException("No space left on device", 28);
                base.Move(from, to);
            }
        }

        // Attack: a take-over cut short by an I/O error after its first rename returned no next number, so the next
        // sibling's segments were renamed onto the names just used (Move overwrites): the first sibling's events were gone,
        // counted nowhere.
        [Fact]
        public async Task A_take_over_cut_short_by_an_IO_error_overwrites_no_segment_it_already_moved()
        {
            using var directory = new DurableDirectory();
            LeaveInTwoSiblings(directory);

            await using var emulator = await BentoEmulator.StartAsync();
            var d = Delivering(emulator, directory.Path, new OneFailedTakeOverRename());
            await d.DisposeAsync();
            // What the failed rename left in its sibling goes with the next process.
            var e = Delivering(emulator, directory.Path);
            await e.DisposeAsync();

            var received = emulator.ReceivedNumbers().OrderBy(n => n).ToArray();
            Assert.Equal(Range((0, 20), (100, 20)), received);
            Assert.Equal(0, directory.CountRecords());
        }

        // Attack: a sibling still held by a live owner (another process: its lock file is held) is not taken over; its
        // leftovers go, once, when a pipeline opens the directory after the owner let go.
        [Fact]
        public async Task Sibling_leftovers_held_by_a_live_owner_stay_with_it_and_go_once_it_lets_go()
        {
            if (OperatingSystem.IsWindows()) return;
            using var directory = new DurableDirectory();
            LeaveInTwoSiblings(directory);

            await using var emulator = await BentoEmulator.StartAsync();
            var held = new FileStream(Path.Combine(directory.Path, "serilog-2", DurableBuffer.LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            var d = Delivering(emulator, directory.Path);
            Emit(d, 200, 2);
            await d.DisposeAsync();
            Assert.Equal(Range((100, 20), (200, 2)), emulator.ReceivedNumbers().OrderBy(n => n).ToArray());
            held.Dispose();

            var e = Delivering(emulator, directory.Path);
            await e.DisposeAsync();
            Assert.Equal(Range((0, 20), (100, 20), (200, 2)), emulator.ReceivedNumbers().OrderBy(n => n).ToArray());
            Assert.Equal(0, directory.CountRecords());
        }
    }
}
