using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Bento.Emulator;
using BentoSinks.Durable;
using Serilog.Core;
using static Serilog.Sinks.Bento.Tests.DurableLoggers;

namespace Serilog.Sinks.Bento.Tests
{
    /// <summary>
    /// The durable buffer (BufferDirectory) through WriteTo.Bento: a real child process killed with SIGKILL, torn and
    /// corrupt records, the limits, the lock, the permissions, an injected I/O failure and an hour-long outage.
    /// </summary>
    [Collection("SelfLog")]
    public class DurableBufferTests
    {
        private static Process StartChild(string directory, int events)
        {
            // tests/Serilog.Sinks.Bento.Tests/bin/<configuration>/<framework>/ → tests/DurableCrashChild/bin/<configuration>/<framework>/
            var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var framework = here.Name;
            var configuration = here.Parent!.Name;
            var tests = here.Parent.Parent!.Parent!.Parent!.FullName;
            var child = Path.Combine(tests, "DurableCrashChild", "bin", configuration, framework, "DurableCrashChild.dll");
            Assert.True(File.Exists(child), "the child program was not built: " + child);
            var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { child, directory, events.ToString(System.Globalization.CultureInfo.InvariantCulture), DurableDirectory.Unreachable })
                info.ArgumentList.Add(arg);
            return Process.Start(info)!;
        }

        [Fact]
        public async Task A_child_killed_with_SIGKILL_during_an_outage_loses_nothing_and_a_torn_write_costs_only_itself()
        {
            using var directory = new DurableDirectory();
            const int events = 3000;
            using var child = StartChild(directory.Path, events);
            try
            {
                var line = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
                Assert.True(line == "logged", "the child said: " + line + " " + await Task.Run(() => child.HasExited ? child.StandardError.ReadToEnd() : ""));

                // This process is a second one on the directory: the logger is built (a logging component never takes
                // the app down), keeps its events in memory and says why, as an error in the app's log.
                using (var secondLog = new SelfLogCapture())
                using (var second = Unreachable(directory.Path))
                {
                    Emit(second, 0, 1);
                    Assert.Contains("in use by another process", secondLog.Text);
                    Assert.Contains("its own BufferDirectory", secondLog.Text);
                }

                // Every logged event reaches the OS within 200 ms: wait for the records, not for a time.
                await DurableDirectory.Until(() => directory.CountRecords() == events);
            }
            finally
            {
                child.Kill(); // SIGKILL on Unix
                await child.WaitForExitAsync();
            }

            // A torn write at the end of the newest segment: the first half of a record.
            var json = Encoding.UTF8.GetBytes("{\"type\":\"torn\",\"email\":\"ada@example.com\"}");
            var torn = new byte[RecordFrame.FramedLength(json.Length)];
            RecordFrame.Write(torn, json, 1, 0);
            using (var file = new FileStream(directory.Segments.Last(), FileMode.Append))
                file.Write(torn, 0, torn.Length / 2);

            await using var emulator = await BentoEmulator.StartAsync();
            using var metrics = new BentoMeterProbe("Serilog");
            using var selfLog = new SelfLogCapture();
            var logger = Delivering(emulator, directory.Path);
            Emit(logger, events, 10); // a new process's own events come after what the last one left
            await logger.DisposeAsync();

            var numbers = emulator.ReceivedNumbers();
            Assert.Equal(Enumerable.Range(0, events + 10), numbers.OrderBy(n => n)); // every event, exactly once
            Assert.Equal(Enumerable.Range(0, events), numbers.Take(events)); // the last process's first, in order
            Assert.Equal(1, metrics.DroppedFor("corrupt"));
            Assert.Contains("damaged or torn record", selfLog.Text);
            Assert.DoesNotContain("ada@example.com", selfLog.Text);
            Assert.Empty(directory.Segments); // all delivered: nothing left behind
        }

        [Fact]
        public async Task A_directory_held_by_another_process_means_memory_delivery_then_once_released_its_leftovers_are_sent()
        {
            using var directory = new DurableDirectory();
            using var child = StartChild(directory.Path, 50); // the old instance of a blue/green deploy, Bento unreachable
            await using var emulator = await BentoEmulator.StartAsync();
            using var metrics = new BentoMeterProbe("Serilog");
            using var selfLog = new SelfLogCapture();
            Logger? logger = null;
            try
            {
                var line = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
                Assert.True(line == "logged", "the child said: " + line);
                await DurableDirectory.Until(() => directory.CountRecords() == 50);
                // The new instance starts on the same directory: no exception; its events go from memory meanwhile.
                logger = Delivering(emulator, directory.Path, o => o.Period = TimeSpan.FromMilliseconds(50));
                Emit(logger, 1000, 10);
                await emulator.WaitForEventsAsync(10, TimeSpan.FromSeconds(20));
                Assert.Contains("in use by another process", selfLog.Text);
            }
            finally
            {
                child.Kill(); // the old instance ends (here with SIGKILL: its events stay on disk)
                await child.WaitForExitAsync();
            }
            // The directory is tried again with a backoff: the new instance takes it and sends what the old one left.
            await emulator.WaitForEventsAsync(60, TimeSpan.FromSeconds(30));
            Emit(logger!, 2000, 10);
            await logger!.DisposeAsync();
            Assert.Equal(Enumerable.Range(0, 50).Concat(Enumerable.Range(1000, 10)).Concat(Enumerable.Range(2000, 10)), emulator.ReceivedNumbers().OrderBy(n => n));
            Assert.Contains("earlier process are sent first", selfLog.Text);
            Assert.Empty(directory.Segments);
        }

        [Fact]
        public async Task Corrupt_bytes_in_the_middle_of_a_segment_cost_only_the_damaged_record()
        {
            using var directory = new DurableDirectory();
            using (var first = Unreachable(directory.Path)) Emit(first, 0, 100);
            Assert.Equal(100, directory.CountRecords());

            var segment = directory.Segments.Single();
            var offsets = DurableDirectory.RecordOffsets(segment);
            var bytes = File.ReadAllBytes(segment);
            for (var i = 0; i < 8; i++) bytes[offsets[50] + RecordFrame.HeaderLength + RecordFrame.PayloadPrefixLength + 10 + i] ^= 0x5A;
            File.WriteAllBytes(segment, bytes);

            await using var emulator = await BentoEmulator.StartAsync();
            using var metrics = new BentoMeterProbe("Serilog");
            var logger = Delivering(emulator, directory.Path);
            await logger.DisposeAsync();

            Assert.Equal(Enumerable.Range(0, 100).Where(n => n != 50), emulator.ReceivedNumbers());
            Assert.Equal(1, metrics.DroppedFor("corrupt"));
            Assert.Equal(99, metrics.Sent);
        }

        [Fact]
        public async Task Past_the_size_limit_the_oldest_waiting_events_are_dropped_first_and_counted()
        {
            using var directory = new DurableDirectory();
            const long limit = 64 * 1024;
            var blob = new string('x', 200);
            using var firstMetrics = new BentoMeterProbe("Serilog");
            using (var first = Unreachable(directory.Path, o => { o.BufferSizeLimit = limit; o.BatchSizeLimit = 10; }))
            {
                for (var i = 0; i < 2000; i += 100)
                {
                    Emit(first, i, 100, blob);
                    await DurableDirectory.Until(() => directory.SegmentBytes > 0);
                }
            }
            var dropped = firstMetrics.DroppedFor("buffer_full");
            Assert.True(dropped > 0);
            // One segment (limit / 8) and the batch in flight may pass the limit.
            Assert.True(directory.SegmentBytes <= limit + limit / 8 + 10 * 400, $"{directory.SegmentBytes} bytes on disk");

            await using var emulator = await BentoEmulator.StartAsync();
            using var metrics = new BentoMeterProbe("Serilog");
            var logger = Delivering(emulator, directory.Path);
            await logger.DisposeAsync();

            var numbers = emulator.ReceivedNumbers();
            Assert.Equal(numbers.Length, numbers.Distinct().Count());
            Assert.Equal(2000, numbers.Length + dropped); // nothing lost without being counted
            var missing = Enumerable.Range(0, 2000).Except(numbers).ToArray();
            Assert.True(missing.Length == missing.Max() - missing.Min() + 1, $"missing {missing.Length} from {missing.Min()} to {missing.Max()}, dropped {dropped}"); // one block: the oldest that were waiting
            Assert.Contains(1999, numbers);
        }

        [Fact]
        public async Task Past_the_age_limit_events_are_dropped_as_expired()
        {
            using var directory = new DurableDirectory();
            var time = FakeClock.New();
            using (var first = Unreachable(directory.Path, o => o.TimeProvider = time)) Emit(first, 0, 50);
            Assert.Equal(50, directory.CountRecords());

            time.Advance(TimeSpan.FromDays(7) + TimeSpan.FromMinutes(1));
            await using var emulator = await BentoEmulator.StartAsync();
            using var metrics = new BentoMeterProbe("Serilog");
            var logger = Delivering(emulator, directory.Path, o => { o.TimeProvider = time; o.ShutdownTimeout = TimeSpan.Zero; });
            await DurableDirectory.Until(() => metrics.DroppedFor("expired") == 50);
            await logger.DisposeAsync();
            Assert.Equal(0, emulator.EventCount);
            Assert.Empty(directory.Segments);
        }

        [Fact]
        public void The_directory_and_its_files_are_private_to_their_owner()
        {
            if (OperatingSystem.IsWindows()) return; // Unix permissions
            using var directory = new DurableDirectory();
            using (var logger = Unreachable(directory.Path)) Emit(logger, 0, 5);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory.Path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory.Folder));
            var files = Directory.GetFiles(directory.Folder);
            Assert.Contains(files, f => f.EndsWith(".bentoseg", StringComparison.Ordinal));
            Assert.Contains(files, f => f.EndsWith(DurableBuffer.LockFileName, StringComparison.Ordinal));
            foreach (var file in files) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }

        [Fact]
        public async Task An_io_failure_degrades_to_memory_only_delivery_reported_as_an_error_and_nothing_throws()
        {
            using var directory = new DurableDirectory();
            await using var emulator = await BentoEmulator.StartAsync();
            using var metrics = new BentoMeterProbe("Serilog");
            using var selfLog = new SelfLogCapture();
            var files = new FailingFileSystem { FailWritesAfter = 1 };
            var logger = Delivering(emulator, directory.Path, o => { o.BufferFileSystem = files; o.BatchSizeLimit = 10; });
            Emit(logger, 0, 10);
            await DurableDirectory.Until(() => files.Writes >= 1);
            Emit(logger, 10, 90); // the disk is "full" from now on
            await logger.DisposeAsync();

            Assert.Equal(Enumerable.Range(0, 100), emulator.ReceivedNumbers().OrderBy(n => n));
            Assert.Equal(0, metrics.DroppedTotal);
            Assert.Contains("the buffer directory failed while writing a segment (IOException: disk full); events are kept in memory and the directory is tried again", selfLog.Text);
        }

        [Fact]
        public async Task A_directory_that_cannot_be_created_means_memory_only_delivery_reported_as_an_error()
        {
            using var directory = new DurableDirectory();
            await using var emulator = await BentoEmulator.StartAsync();
            using var selfLog = new SelfLogCapture();
            var logger = Delivering(emulator, directory.Path, o => o.BufferFileSystem = new FailingFileSystem { ReadOnly = true });
            Emit(logger, 0, 20);
            await logger.DisposeAsync();
            Assert.Equal(Enumerable.Range(0, 20), emulator.ReceivedNumbers().OrderBy(n => n));
            Assert.Contains("the buffer directory failed while opening it (UnauthorizedAccessException: access denied); events are kept in memory and the directory is tried again", selfLog.Text);
        }

        [Fact]
        public async Task An_hour_long_outage_on_a_fake_clock_drops_nothing_and_delivery_resumes_with_the_original_dates()
        {
            using var directory = new DurableDirectory();
            await using var rig = await MeteredSerilogUnderTest.StartAsync(o =>
            {
                o.Period = TimeSpan.FromSeconds(2);
                o.BufferDirectory = directory.Path;
                o.BatchSizeLimit = 100;
            });
            var start = rig.Time.GetUtcNow();
            rig.Emulator.SetRandomFaults(1.0, 1, Fault.WithStatus(503));
            rig.Emit(0, 500);
            // An hour, well past RetryTimeLimit (10 minutes).
            await rig.PumpAsync(() => rig.Time.GetUtcNow() - start >= TimeSpan.FromHours(1), TimeSpan.FromSeconds(10), 400);
            Assert.True(rig.Time.GetUtcNow() - start >= TimeSpan.FromHours(1));
            Assert.Equal(0, rig.Metrics.DroppedTotal);
            Assert.Equal(0, rig.Metrics.Sent);
            Assert.Equal(500, directory.CountRecords());

            rig.Emulator.ClearFaults();
            rig.Emit(500, 500);
            await rig.PumpUntil(() => rig.Metrics.Sent == 1000, TimeSpan.FromSeconds(1));
            Assert.Equal(Enumerable.Range(0, 1000), rig.ReceivedNumbers().OrderBy(n => n));
            Assert.Equal(0, rig.Metrics.DroppedTotal);
            // The events logged before the outage carry the time they were logged, not the time they were sent.
            var first = rig.Emulator.Events.First(e => e.Detail("n")!.Value.GetInt32() == 0);
            Assert.True(DateTimeOffset.Parse(first.Json.GetProperty("date").GetString()!, System.Globalization.CultureInfo.InvariantCulture) < DateTimeOffset.UtcNow.AddHours(1));
        }

        [Fact]
        public async Task Events_Bento_refuses_on_their_own_go_to_the_dead_letter_file_with_status_and_reason()
        {
            using var directory = new DurableDirectory();
            await using var emulator = await BentoEmulator.StartAsync();
            emulator.Poison = e => e.TryGetProperty("details", out var d) && d.GetProperty("n").GetInt32() == 3;
            using var metrics = new BentoMeterProbe("Serilog");
            var logger = Delivering(emulator, directory.Path);
            Emit(logger, 0, 10);
            await logger.DisposeAsync();

            Assert.Equal(Enumerable.Range(0, 10).Where(n => n != 3), emulator.ReceivedNumbers().OrderBy(n => n));
            Assert.Equal(1, metrics.DroppedFor("rejected"));
            var path = directory.DeadLetters;
            var line = Assert.Single(File.ReadAllLines(path));
            using var json = JsonDocument.Parse(line);
            Assert.Equal(400, json.RootElement.GetProperty("status").GetInt32());
            Assert.Contains("400", json.RootElement.GetProperty("reason").GetString());
            Assert.Equal(3, json.RootElement.GetProperty("event").GetProperty("details").GetProperty("n").GetInt32());
            Assert.Equal("ada@example.com", json.RootElement.GetProperty("event").GetProperty("email").GetString());
            if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        /// <summary>The I/O seam: a disk that fills up after some writes, or a directory that cannot be created.</summary>
        private sealed class FailingFileSystem : BufferFileSystem
        {
            private int _writes;
            public int FailWritesAfter { get; init; } = int.MaxValue;
            public bool ReadOnly { get; init; }
            public int Writes => System.Threading.Volatile.Read(ref _writes);

            public override void CreatePrivateDirectory(string path)
            {
                if (ReadOnly) throw new UnauthorizedAccessException("read-only " + path);
                base.CreatePrivateDirectory(path);
            }

            public override void Write(FileStream stream, byte[] buffer, int count)
            {
                if (System.Threading.Interlocked.Increment(ref _writes) > FailWritesAfter) throw new IOException("No space left on device", 28);
                base.Write(stream, buffer, count);
            }
        }
    }
}
