using System;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Bento.Emulator;

// bento-emulator (or: dotnet run --project tools/Bento.Emulator --) [--urls URL] [--site-uuid S] [--publishable-key P]
// [--secret-key K] [--rate-limit N] [--max-events N] [--quiet]
var options = new BentoEmulatorOptions { Url = "http://127.0.0.1:5080", LogToConsole = true };
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--urls": options.Url = Next(); break;
        case "--site-uuid": options.SiteUuid = Next(); break;
        case "--publishable-key": options.PublishableKey = Next(); break;
        case "--secret-key": options.SecretKey = Next(); break;
        case "--rate-limit": options.RateLimitPerMinute = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--max-events": options.MaxRecordedEvents = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--counts-only": options.RecordEvents = false; break;
        case "--quiet": options.LogToConsole = false; break;
        case "--help":
        case "-h":
            Console.WriteLine("bento-emulator: Bento's batch events API on loopback, with a live page of what it received.");
            Console.WriteLine("  --urls URL              where to listen (default http://127.0.0.1:5080; port 0 picks a free one)");
            Console.WriteLine($"  --site-uuid S           (default {BentoEmulatorOptions.DefaultSiteUuid})");
            Console.WriteLine($"  --publishable-key P     (default {BentoEmulatorOptions.DefaultPublishableKey})");
            Console.WriteLine($"  --secret-key K          (default {BentoEmulatorOptions.DefaultSecretKey})");
            Console.WriteLine("  --rate-limit N          answer 429 past N requests a minute (default: none)");
            Console.WriteLine("  --max-events N          keep the newest N events for the page and the API (default 1,000,000)");
            Console.WriteLine("  --counts-only           keep counts, not events (for benchmarks)");
            Console.WriteLine("  --quiet                 no line per batch or refusal");
            Console.WriteLine("Page: GET /. Inspection API: GET /_emulator/events, /_emulator/requests, /_emulator/summary,");
            Console.WriteLine("/_emulator/stream (server-sent events), /_emulator/stats; POST /_emulator/reset.");
            return 0;
        default:
            Console.Error.WriteLine($"Unknown argument {args[i]} (try --help)");
            return 2;
    }
}

await using var emulator = await BentoEmulator.StartAsync(options);
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
await emulator.DisposeAsync();
Console.WriteLine("Bento emulator stopped.");
return 0;
