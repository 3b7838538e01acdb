using System;
using System.Linq;
using BenchmarkDotNet.Running;
using BentoSinks.Benchmarks;

// dotnet run -c Release --project benchmarks/BentoSinks.Benchmarks -- --filter '*'        every BenchmarkDotNet suite
// dotnet run -c Release --project benchmarks/BentoSinks.Benchmarks -- throughput [--quick] [--in-process]   end to end (suite 4), one JSON line
// dotnet run -c Release --project benchmarks/BentoSinks.Benchmarks -- durable [--quick]   durable buffer end to end (suite 5b), one JSON line
if (args.Length > 0 && args[0] == "durable")
    return await DurableThroughput.RunAsync(quick: args.Contains("--quick"));
if (args.Length > 0 && args[0] == "throughput")
    return await Throughput.RunAsync(quick: args.Contains("--quick"), inProcess: args.Contains("--in-process"));
BenchmarkSwitcher.FromAssembly(typeof(SerilogCallerBenchmarks).Assembly).Run(args);
return 0;
