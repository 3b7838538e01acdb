using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;
using Bento.Emulator;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Serilog;

// Consumes the packed .nupkg files as a user would, checks their contents, and logs through both to the emulator.
// Usage: dotnet run --project tests/PackageConsumer -- <folder holding the .nupkg files>
var folder = args.Length > 0 ? args[0] : "artifacts/packages";
var failures = new List<string>();

foreach (var id in new[] { "BentoSinks.Core", "Serilog.Sinks.Bento", "OpenTelemetry.Exporter.Bento", "BentoSinks.AspNetCore" })
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

foreach (var f in failures) Console.Error.WriteLine("package check failed: " + f);
Console.WriteLine(failures.Count == 0 ? "packages: contents checked; Serilog and OpenTelemetry consumers delivered to the emulator" : $"packages: {failures.Count} problem(s)");
return failures.Count == 0 ? 0 : 1;
