using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;
using Bento.Emulator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Serilog;

// Consumes the packed .nupkg files as a user would, checks their contents, and logs through both to the emulator.
// Usage: dotnet run --project tests/PackageConsumer -- <folder holding the .nupkg files> [<the installed bento-emulator tool>]
var folder = args.Length > 0 ? args[0] : "artifacts/packages";
var tool = args.Length > 1 ? args[1] : null;
var failures = new List<string>();

foreach (var id in new[] { "BentoSinks.Core", "Serilog.Sinks.Bento", "OpenTelemetry.Exporter.Bento", "BentoSinks.HealthChecks", "BentoSinks.AspNetCore" })
{
    var nupkg = Directory.GetFiles(folder, id + ".*.nupkg").Where(f => !f.EndsWith(".snupkg")).OrderBy(f => f).LastOrDefault();
    if (nupkg is null) { failures.Add($"{id}: no .nupkg in {folder}"); continue; }
    if (!File.Exists(Path.ChangeExtension(nupkg, ".snupkg"))) failures.Add($"{id}: no symbol package");
    using var zip = ZipFile.OpenRead(nupkg);
    var names = zip.Entries.Select(e => e.FullName).ToHashSet();
    var aspNetCore = id == "BentoSinks.AspNetCore"; // net8.0 only: the ASP.NET Core shared framework
    foreach (var tfm in aspNetCore ? new[] { "net8.0" } : new[] { "netstandard2.0", "net8.0" })
    {
        if (!names.Contains($"lib/{tfm}/{id}.dll")) failures.Add($"{id}: no lib/{tfm}/{id}.dll");
        if (!names.Contains($"lib/{tfm}/{id}.xml")) failures.Add($"{id}: no XML docs for {tfm}");
    }
    if (!names.Contains("README.md")) failures.Add($"{id}: no package README");
    var nuspecEntry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec"));
    using var reader = new StreamReader(nuspecEntry.Open());
    var nuspec = reader.ReadToEnd();
    foreach (var element in new[] { "<id>", "<version>", "<description>", "<tags>", "<license type=\"expression\">", "<readme>" })
        if (!nuspec.Contains(element)) failures.Add($"{id}: nuspec lacks {element}");
    if (id != "BentoSinks.Core")
    {
        // The front ends call the core's internals: each depends on exactly the core it was packed with, [version].
        var metadata = XDocument.Parse(nuspec).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        var version = metadata.Elements().Single(e => e.Name.LocalName == "version").Value;
        var groups = metadata.Elements().Where(e => e.Name.LocalName == "dependencies").Elements().Where(e => e.Name.LocalName == "group").ToList();
        foreach (var group in groups)
        {
            var core = group.Elements().Where(e => e.Name.LocalName == "dependency" && (string?)e.Attribute("id") == "BentoSinks.Core").ToList();
            var range = core.Count == 1 ? (string?)core[0].Attribute("version") : null;
            if (range != $"[{version}]")
                failures.Add($"{id}: the {group.Attribute("targetFramework")?.Value} dependency on BentoSinks.Core is {range ?? "missing"}, not [{version}]");
        }
        if (groups.Count != (aspNetCore ? 1 : 2)) failures.Add($"{id}: {groups.Count} dependency groups, not {(aspNetCore ? 1 : 2)}");
    }
}

// The emulator's two packages: the test package (a library) and the .NET tool.
foreach (var (id, expected) in new[]
{
    ("BentoSinks.Emulator.Testing", new[] { "lib/net8.0/Bento.Emulator.Testing.dll", "lib/net8.0/Bento.Emulator.Testing.xml", "README.md" }),
    ("BentoSinks.Aspire.Hosting", new[] { "lib/net8.0/BentoSinks.Aspire.Hosting.dll", "lib/net8.0/BentoSinks.Aspire.Hosting.xml", "README.md" }),
    ("BentoSinks.Emulator.Tool", new[] { "tools/net8.0/any/Bento.Emulator.dll", "tools/net8.0/any/Bento.Emulator.Testing.dll", "tools/net8.0/any/DotnetToolSettings.xml", "README.md" }),
})
{
    var nupkg = Directory.GetFiles(folder, id + ".*.nupkg").Where(f => !f.EndsWith(".snupkg")).OrderBy(f => f).LastOrDefault();
    if (nupkg is null) { failures.Add($"{id}: no .nupkg in {folder}"); continue; }
    using var zip = ZipFile.OpenRead(nupkg);
    var names = zip.Entries.Select(e => e.FullName).ToHashSet();
    foreach (var entry in expected) if (!names.Contains(entry)) failures.Add($"{id}: no {entry}");
    if (id.EndsWith(".Tool", StringComparison.Ordinal))
    {
        using var settings = new StreamReader(zip.GetEntry("tools/net8.0/any/DotnetToolSettings.xml")!.Open());
        if (!settings.ReadToEnd().Contains("Name=\"bento-emulator\"")) failures.Add($"{id}: the command is not bento-emulator");
    }
}

// Every package: its README works on nuget.org (no relative link or image: the repository's docs/ are not in the
// package), and its net8.0 dependencies are the lowest .NET 8 needs (no 9.x or 10.x Microsoft.Extensions.*, which
// would push newer Microsoft.Extensions.* packages into a .NET 8 LTS app).
foreach (var nupkg in Directory.GetFiles(folder, "*.nupkg").OrderBy(f => f))
{
    var id = Path.GetFileName(nupkg);
    using var zip = ZipFile.OpenRead(nupkg);
    var readme = zip.GetEntry("README.md");
    if (readme is null) { failures.Add($"{id}: no package README"); continue; }
    using (var readmeReader = new StreamReader(readme.Open()))
    {
        var text = readmeReader.ReadToEnd();
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(text,
            @"\]\(\s*(?!https?://|mailto:|#)([^)\s]+)|^\s*\[[^\]]+\]:\s*(?!https?://)(\S+)|<img[^>]*\ssrc=""(?!https?://)([^""]*)""",
            System.Text.RegularExpressions.RegexOptions.Multiline))
            failures.Add($"{id}: the package README links to '{m.Value.Trim()}', which nuget.org cannot resolve (use an absolute link)");
    }
    using var nuspecReader = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec")).Open());
    var metadataElement = XDocument.Parse(nuspecReader.ReadToEnd()).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    foreach (var group in metadataElement.Elements().Where(e => e.Name.LocalName == "dependencies").Elements()
                 .Where(e => e.Name.LocalName == "group" && (string?)e.Attribute("targetFramework") == "net8.0"))
        foreach (var dependency in group.Elements().Where(e => e.Name.LocalName == "dependency"))
        {
            var dependencyId = (string?)dependency.Attribute("id") ?? "";
            var range = ((string?)dependency.Attribute("version") ?? "").TrimStart('[', '(');
            if (dependencyId.StartsWith("Microsoft.Extensions.", StringComparison.OrdinalIgnoreCase)
                && int.TryParse(range.Split('.', ',')[0], out var major) && major > 8)
                failures.Add($"{id}: its net8.0 group depends on {dependencyId} {dependency.Attribute("version")!.Value}; .NET 8 apps need 8.0.x");
        }
}

await using var emulator = await BentoEmulator.StartAsync();
void Configure(BentoSinks.BentoOptions o)
{
    o.SiteUuid = BentoEmulatorOptions.DefaultSiteUuid;
    o.PublishableKey = BentoEmulatorOptions.DefaultPublishableKey;
    o.SecretKey = BentoEmulatorOptions.DefaultSecretKey;
    o.Endpoint = emulator.ApiBase;
}

var logger = new LoggerConfiguration().WriteTo.Bento(o => Configure(o)).CreateLogger();
logger.ForAnalytics("signup_completed").ForContext("Email", "ada@example.com").Information("Signed up for {plan}", "pro");

// The health check sees the live Serilog pipeline.
var services = new ServiceCollection();
services.AddLogging();
services.AddHealthChecks().AddBentoHealthCheck();
await using (var provider = services.BuildServiceProvider())
{
    var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();
    var bento = report.Entries["bento"];
    if (bento.Status != HealthStatus.Healthy || !Equals(bento.Data["pipelines"], 1))
        failures.Add($"health check: {bento.Status}, {bento.Description}");
}
// BentoSinks.AspNetCore's options resolve from its package; BentoIdentity (core) identifies an event without an email.
if (new BentoSinks.AspNetCore.BentoIdentityOptions().EmailClaimTypes.Count != 2) failures.Add("BentoSinks.AspNetCore: unexpected default email claims");
using (BentoSinks.BentoIdentity.Push("grace@example.com", "Grace", "Hopper")) logger.ForAnalytics("identified").Information("From the ambient identity");
await logger.DisposeAsync();

using var source = new ActivitySource("PackageConsumer");
using (Sdk.CreateTracerProviderBuilder().AddSource(source.Name).AddBentoExporter(o => Configure(o)).Build())
{
    using var activity = source.StartActivity("request")!;
    activity.SetTag("user.email", "ada@example.com");
    activity.AddEvent(new ActivityEvent("trial_started", tags: new ActivityTagsCollection { ["analytics.event"] = true }));
}

var types = emulator.Events.Select(e => e.Type).OrderBy(t => t).ToArray();
if (!types.SequenceEqual(new[] { "identified", "signup_completed", "trial_started" })) failures.Add("the emulator received: " + string.Join(", ", types));
// The test package's assertions, as a user's test would make them.
var signup = await emulator.WaitForEventAsync(e => e.Type == "signup_completed", TimeSpan.FromSeconds(10));
if (signup.Email != "ada@example.com" || emulator.EventsFor("ada@example.com").Count != 2) failures.Add("the test package's EventsFor/WaitForEventAsync disagree with what was sent");

if (tool is null) failures.Add("no bento-emulator tool path given (.ci/run installs it with dotnet tool install)");
else await CheckToolAsync(tool, failures);

foreach (var f in failures) Console.Error.WriteLine("package check failed: " + f);
Console.WriteLine(failures.Count == 0
    ? "packages: contents checked; Serilog and OpenTelemetry consumers delivered to the emulator (test package); the bento-emulator tool served its page and API and stopped on SIGTERM"
    : $"packages: {failures.Count} problem(s)");
return failures.Count == 0 ? 0 : 1;

// The installed tool: start it on a free port, log through Serilog to the endpoint it prints, read the inspection API,
// and stop it with SIGTERM (exit code 0).
static async Task CheckToolAsync(string tool, List<string> failures)
{
    var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, UseShellExecute = false };
    foreach (var a in new[] { "--urls", "http://127.0.0.1:0", "--quiet" }) start.ArgumentList.Add(a);
    using var process = Process.Start(start)!;
    try
    {
        var banner = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)) ?? "";
        var marker = "endpoint ";
        var at = banner.IndexOf(marker, StringComparison.Ordinal);
        if (at < 0) { failures.Add("bento-emulator printed no endpoint: " + banner); return; }
        var endpoint = new Uri(banner[(at + marker.Length)..].Split(' ')[0]);
        var logger = new LoggerConfiguration().WriteTo.Bento(o =>
        {
            o.SiteUuid = BentoEmulatorOptions.DefaultSiteUuid;
            o.PublishableKey = BentoEmulatorOptions.DefaultPublishableKey;
            o.SecretKey = BentoEmulatorOptions.DefaultSecretKey;
            o.Endpoint = endpoint;
        }).CreateLogger();
        logger.ForAnalytics("tool_checked").ForContext("Email", "grace@example.com").Information("Checked the tool");
        await logger.DisposeAsync();
        using var http = new HttpClient();
        var root = new Uri(endpoint, "/");
        var events = await http.GetStringAsync(new Uri(root, "_emulator/events?type=tool_checked"));
        if (!events.Contains("\"email\":\"grace@example.com\"")) failures.Add("bento-emulator's inspection API did not list the event: " + events);
        var page = await http.GetStringAsync(root);
        if (!page.Contains("Bento emulator")) failures.Add("bento-emulator served no page at /");
        if (OperatingSystem.IsWindows()) process.Kill();
        else using (var kill = Process.Start("kill", $"-TERM {process.Id}")) await kill!.WaitForExitAsync();
        using var stopped = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await process.WaitForExitAsync(stopped.Token);
        if (!OperatingSystem.IsWindows() && process.ExitCode != 0) failures.Add($"bento-emulator exited with {process.ExitCode} on SIGTERM");
    }
    finally
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
    }
}
