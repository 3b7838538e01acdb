using System;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Bento.Emulator;

// dotnet run --project tools/Bento.Emulator -- --urls http://127.0.0.1:5080 --site-uuid S --publishable-key P --secret-key K [--rate-limit 100]
var options = new BentoEmulatorOptions { Url = "http://127.0.0.1:5080", LogToConsole = true, RecordEvents = false };
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--urls": options.Url = Next(); break;
        case "--site-uuid": options.SiteUuid = Next(); break;
        case "--publishable-key": options.PublishableKey = Next(); break;
        case "--secret-key": options.SecretKey = Next(); break;
        case "--rate-limit": options.RateLimitPerMinute = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
        case "--quiet": options.LogToConsole = false; break;
        case "--help":
        case "-h":
            Console.WriteLine("Bento.Emulator: Bento's batch events API on loopback.");
            Console.WriteLine("  --urls URL              where to listen (default http://127.0.0.1:5080)");
            Console.WriteLine($"  --site-uuid S           (default {BentoEmulatorOptions.DefaultSiteUuid})");
            Console.WriteLine($"  --publishable-key P     (default {BentoEmulatorOptions.DefaultPublishableKey})");
            Console.WriteLine($"  --secret-key K          (default {BentoEmulatorOptions.DefaultSecretKey})");
            Console.WriteLine("  --rate-limit N          answer 429 past N requests a minute (default: none)");
            Console.WriteLine("  --quiet                 no line per batch (GET /_emulator/stats gives the counts)");
            return 0;
        default:
            Console.Error.WriteLine($"Unknown argument {args[i]} (try --help)");
            return 2;
    }
}

await using var emulator = await BentoEmulator.StartAsync(options);
Console.WriteLine($"Bento emulator listening: endpoint {emulator.ApiBase} (site {options.SiteUuid}, publishable key {options.PublishableKey}, secret key {options.SecretKey}); Ctrl+C or SIGTERM to stop.");
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
// docker stop, Kubernetes and systemd send SIGTERM: stop cleanly (exit code 0) instead of being killed.
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Cancel(); });
try { await Task.Delay(Timeout.Infinite, stop.Token); } catch (OperationCanceledException) { }
Console.WriteLine("Bento emulator stopped.");
return 0;
