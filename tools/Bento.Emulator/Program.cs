using System;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Bento.Emulator;

// bento-emulator (or: dotnet run --project tools/Bento.Emulator --) [--urls URL] [--site-uuid S] [--publishable-key P]
// [--secret-key K] [--rate-limit N] [--max-events N] [--max-bytes SIZE] [--max-request-bytes SIZE] [--allowed-host H]
// [--counts-only] [--quiet]
BentoEmulatorOptions? options;
try
{
    options = CommandLine.Parse(args);
}
catch (CommandLineException e)
{
    Console.Error.WriteLine("bento-emulator: " + e.Message);
    return 2;
}
if (options is null)
{
    CommandLine.PrintHelp();
    return 0;
}

BentoEmulator emulator;
try
{
    emulator = await BentoEmulator.StartAsync(options);
}
catch (Exception e) when (e is ArgumentException || e is System.IO.IOException || e is InvalidOperationException)
{
    // Kestrel's word for an address it cannot bind (e.g. localhost with port 0), on one line.
    Console.Error.WriteLine("bento-emulator: cannot listen on " + options.Url + ": " + e.Message);
    return 2;
}
await using (emulator)
{
    // The first line's "endpoint URL " is what scripts and the benchmarks read.
    Console.WriteLine($"Bento emulator listening: endpoint {emulator.ApiBase} ");
    Console.WriteLine($"  page {emulator.PageAddress} (a live list of the events received and the requests refused)");
    Console.WriteLine($"  site UUID {options.SiteUuid}, publishable key {options.PublishableKey}, secret key {options.SecretKey}");
    Console.WriteLine($"  inspection API {emulator.BaseAddress}_emulator/events (and /requests, /summary, /stream; POST /reset)");
    // A block to paste into the app's shell: the sink and the exporter read these variables when code leaves them unset.
    Console.WriteLine(OperatingSystem.IsWindows() ? "Point an app at it (PowerShell):" : "Point an app at it (paste into its shell):");
    foreach (var (name, value) in new[]
    {
        ("BENTO_ENDPOINT", emulator.ApiBase.ToString()), ("BENTO_SITE_UUID", options.SiteUuid),
        ("BENTO_PUBLISHABLE_KEY", options.PublishableKey), ("BENTO_SECRET_KEY", options.SecretKey),
    })
        Console.WriteLine(OperatingSystem.IsWindows() ? $"  $env:{name}=\"{value}\"" : $"  export {name}='{value}'");
    Console.WriteLine("Ctrl+C or SIGTERM to stop.");
    using var stop = new CancellationTokenSource();
    // Ctrl+C (SIGINT): stop cleanly instead of being killed mid-answer.
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
    // docker stop, Kubernetes and systemd send SIGTERM: stop cleanly (exit code 0) instead of being killed.
    using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Cancel(); });
    try { await Task.Delay(Timeout.Infinite, stop.Token); } catch (OperationCanceledException) { }
    Console.WriteLine("Bento emulator stopping…");
}
Console.WriteLine("Bento emulator stopped.");
return 0;
