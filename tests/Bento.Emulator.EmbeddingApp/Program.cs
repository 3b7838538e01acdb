using System;
using System.Threading;
using System.Threading.Tasks;
using Bento.Emulator;

// Starts the emulator with its defaults, says where it listens, and waits forever: only a signal ends it.
await using var emulator = await BentoEmulator.StartAsync();
Console.WriteLine($"embedded emulator at {emulator.BaseAddress}");
await Task.Delay(Timeout.Infinite);
