using System;
using System.Collections.Generic;
using System.Linq;
using Bento.Emulator;
using Microsoft.Extensions.Time.Testing;

namespace BentoSinks.Testing
{
    /// <summary>What a front end must do with the events of a batch that met a fault.</summary>
    public enum FaultOutcome
    {
        /// <summary>Retried until delivered, each event once.</summary>
        Transient,
        /// <summary>Split into smaller requests, each event delivered once.</summary>
        Split,
        /// <summary>Dropped as <c>unauthorized</c>, with a diagnostic that names the credentials.</summary>
        Unauthorized,
    }

    /// <summary>
    /// The faults every front end's reliability test meets, named the same way everywhere: one case, one script of
    /// faults for the next requests (on the shared fake clock), one expected outcome.
    /// </summary>
    internal static class FaultMatrix
    {
        private sealed record Case(string Name, FaultOutcome Expected, Func<FakeTimeProvider, Fault[]> Script);

        private static readonly Case[] All =
        {
            new("429 Retry-After seconds", FaultOutcome.Transient, _ => Twice(Fault.WithStatus(429, "7"))),
            new("429 Retry-After date", FaultOutcome.Transient, time => new[]
            {
                Fault.WithStatus(429, time.GetUtcNow().AddSeconds(20).ToString("R")), Fault.WithStatus(429, time.GetUtcNow().AddSeconds(40).ToString("R")),
            }),
            new("500", FaultOutcome.Transient, _ => Twice(Fault.WithStatus(500))),
            new("502", FaultOutcome.Transient, _ => Twice(Fault.WithStatus(502))),
            new("503", FaultOutcome.Transient, _ => Twice(Fault.WithStatus(503))),
            new("504", FaultOutcome.Transient, _ => Twice(Fault.WithStatus(504))),
            new("abort", FaultOutcome.Transient, _ => Twice(Fault.Abort())),
            new("hang past the timeout", FaultOutcome.Transient, _ => Twice(Fault.Delayed(TimeSpan.FromMinutes(5)))),
            new("slow inside the timeout", FaultOutcome.Transient, _ => Twice(Fault.Delayed(TimeSpan.FromSeconds(10)))),
            new("413", FaultOutcome.Split, _ => new[] { Fault.WithStatus(413) }),
            // Every request of the batch is refused, however many the front end splits it into.
            new("401", FaultOutcome.Unauthorized, _ => Enumerable.Repeat(Fault.WithStatus(401), 4).ToArray()),
        };

        /// <summary>xUnit member data: the case's name and its expected outcome.</summary>
        public static IEnumerable<object[]> Cases() => All.Select(c => new object[] { c.Name, c.Expected });

        /// <summary>The faults to enqueue on the emulator for case <paramref name="name"/>.</summary>
        public static Fault[] Faults(string name, FakeTimeProvider time) => All.Single(c => c.Name == name).Script(time);

        private static Fault[] Twice(Fault fault) => new[] { fault, fault };
    }
}
