using System;
using System.Globalization;

namespace Bento.Emulator
{
    /// <summary>A command-line value that is missing or out of range: the message says which and why.</summary>
    internal sealed class CommandLineException : Exception
    {
        public CommandLineException(string message) : base(message) { }
    }

    /// <summary>The program's arguments, each checked: a wrong value is a clear message and exit code 2, never a crash.</summary>
    internal static class CommandLine
    {
        /// <summary>The options the arguments ask for; null for <c>--help</c>.</summary>
        public static BentoEmulatorOptions? Parse(string[] args)
        {
            var options = new BentoEmulatorOptions { Url = "http://127.0.0.1:5080", LogToConsole = true };
            for (var i = 0; i < args.Length; i++)
            {
                var name = args[i];
                string Next() => i + 1 < args.Length ? args[++i] : throw new CommandLineException($"{name} needs a value (try --help)");
                switch (name)
                {
                    case "--urls": options.Url = Url(name, Next()); break;
                    case "--site-uuid": options.SiteUuid = Text(name, Next()); break;
                    case "--publishable-key": options.PublishableKey = Text(name, Next()); break;
                    case "--secret-key": options.SecretKey = Text(name, Next()); break;
                    case "--rate-limit": options.RateLimitPerMinute = Whole(name, Next(), 1); break;
                    case "--max-events": options.MaxRecordedEvents = Whole(name, Next(), 1); break;
                    case "--max-bytes": options.MaxRetainedBytes = Size(name, Next(), 1024 * 1024); break;
                    case "--max-request-bytes": options.MaxRequestBytes = Size(name, Next(), 1024); break;
                    case "--allowed-host": options.AllowedHosts.Add(Text(name, Next())); break;
                    case "--counts-only": options.RecordEvents = false; break;
                    case "--quiet": options.LogToConsole = false; break;
                    case "--help":
                    case "-h":
                        return null;
                    default:
                        throw new CommandLineException($"unknown argument '{Printable(name)}' (try --help)");
                }
            }
            return options;
        }

        public static void PrintHelp()
        {
            Console.WriteLine("bento-emulator: Bento's batch events API on loopback, with a live page of what it received.");
            Console.WriteLine("  --urls URL              where to listen (default http://127.0.0.1:5080; port 0 picks a free one)");
            Console.WriteLine($"  --site-uuid S           (default {BentoEmulatorOptions.DefaultSiteUuid})");
            Console.WriteLine($"  --publishable-key P     (default {BentoEmulatorOptions.DefaultPublishableKey})");
            Console.WriteLine($"  --secret-key K          (default {BentoEmulatorOptions.DefaultSecretKey})");
            Console.WriteLine("  --rate-limit N          answer 429 past N requests a minute, N >= 1 (default: none)");
            Console.WriteLine("  --max-events N          keep the newest N events for the page and the API (default 1,000,000)");
            Console.WriteLine("  --max-bytes SIZE        byte budget of what is kept: bodies, events, counts (default 256MB)");
            Console.WriteLine("  --max-request-bytes SIZE  refuse bodies larger than this with 413 (default 10MB)");
            Console.WriteLine("  --allowed-host H        also answer requests whose Host is H (e.g. host.docker.internal); repeatable");
            Console.WriteLine("  --counts-only           keep counts, not events (for benchmarks)");
            Console.WriteLine("  --quiet                 no line per batch or refusal");
            Console.WriteLine("SIZE: bytes, or a number with KB, MB or GB. Settings come from these arguments only (no appsettings.json");
            Console.WriteLine("or environment variable moves the listener).");
            Console.WriteLine("Page: GET / (add ?live=0 for a static capture). Inspection API: GET /_emulator/events, /_emulator/requests,");
            Console.WriteLine("/_emulator/summary, /_emulator/stream (server-sent events), /_emulator/stats; POST /_emulator/reset.");
        }

        private static string Url(string name, string value)
        {
            if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme != "http" || uri.AbsolutePath != "/")
                throw new CommandLineException($"{name} must be a URL such as http://127.0.0.1:5080 (got '{Printable(value)}'; http only: the emulator serves no TLS)");
            return value;
        }

        private static string Text(string name, string value)
            => string.IsNullOrWhiteSpace(value) ? throw new CommandLineException($"{name} must not be empty") : value;

        private static int Whole(string name, string value, int min)
        {
            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < min)
                throw new CommandLineException($"{name} must be a whole number of at least {min} (got '{Printable(value)}')");
            return n;
        }

        private static long Size(string name, string value, long min)
        {
            var text = value.Trim().ToUpperInvariant();
            long unit = 1;
            foreach (var (suffix, factor) in new[] { ("GB", 1L << 30), ("MB", 1L << 20), ("KB", 1L << 10), ("B", 1L) })
            {
                if (text.EndsWith(suffix, StringComparison.Ordinal)) { unit = factor; text = text[..^suffix.Length]; break; }
            }
            if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > long.MaxValue / unit || n * unit < min)
                throw new CommandLineException($"{name} must be a size of at least {min:N0} bytes, e.g. 64MB (got '{Printable(value)}')");
            return n * unit;
        }

        /// <summary>A value as it may be echoed on the terminal: escape sequences written out, not played.</summary>
        private static string Printable(string value) => ConsoleText.Sanitize(value.Length > 80 ? value[..80] + "…" : value);
    }
}
