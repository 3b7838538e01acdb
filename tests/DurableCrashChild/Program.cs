using System;
using System.Globalization;
using System.Threading;
using Serilog;

// Usage: DurableCrashChild <buffer directory> <events> <endpoint>
// Logs <events> analytics events numbered 0..n-1 to an endpoint that does not answer, prints "logged", then waits to be
// killed (SIGKILL): the wait below is the point, a process that never exits by itself.
var directory = args[0];
var count = int.Parse(args[1], CultureInfo.InvariantCulture);
var endpoint = args[2];

var logger = new LoggerConfiguration()
    .WriteTo.Bento(siteUuid: "emulator-site", publishableKey: "emulator-publishable-key", secretKey: "emulator-secret-key",
        endpoint: endpoint, period: TimeSpan.FromMilliseconds(100), maxRequestsPerMinute: 0, bufferDirectory: directory)
    .CreateLogger();
var log = logger.ForAnalytics("crash_test").ForContext("Email", "ada@example.com");
for (var i = 0; i < count; i++) log.Information("Event {n}", i);
Console.WriteLine("logged");
Console.Out.Flush();
Thread.Sleep(Timeout.Infinite);
GC.KeepAlive(logger);
