using System;

namespace Bento.Emulator
{
    /// <summary>What the emulator does to a request instead of (or before) answering it normally.</summary>
    public sealed class Fault
    {
        private Fault(FaultKind kind, int status, string? retryAfter, TimeSpan delay)
        {
            Kind = kind;
            Status = status;
            RetryAfter = retryAfter;
            Delay = delay;
        }

        /// <summary>The kind of fault.</summary>
        public FaultKind Kind { get; }
        /// <summary>The status answered by a <see cref="FaultKind.Status"/> fault.</summary>
        public int Status { get; }
        /// <summary>The raw <c>Retry-After</c> header value, if any (seconds or an HTTP date).</summary>
        public string? RetryAfter { get; }
        /// <summary>How long a <see cref="FaultKind.Delay"/> fault waits before answering normally.</summary>
        public TimeSpan Delay { get; }

        /// <summary>Answer with <paramref name="status"/> (and a <c>Retry-After</c> header when given), without processing the body.</summary>
        public static Fault WithStatus(int status, string? retryAfter = null) => new Fault(FaultKind.Status, status, retryAfter, TimeSpan.Zero);

        /// <summary>Wait (on the emulator's clock), then answer normally.</summary>
        public static Fault Delayed(TimeSpan delay) => new Fault(FaultKind.Delay, 0, null, delay);

        /// <summary>Abort the connection without an answer.</summary>
        public static Fault Abort() => new Fault(FaultKind.Abort, 0, null, TimeSpan.Zero);

        /// <summary>Answer 200 with an HTML page, as an edge that blocks the request does.</summary>
        public static Fault HtmlPage() => new Fault(FaultKind.Html, 200, null, TimeSpan.Zero);

        /// <inheritdoc />
        public override string ToString() => Kind switch
        {
            FaultKind.Status => $"status {Status}" + (RetryAfter is null ? "" : $" (Retry-After: {RetryAfter})"),
            FaultKind.Delay => $"delay {Delay.TotalMilliseconds} ms",
            _ => Kind.ToString(),
        };
    }

    /// <summary>The kinds of injected fault.</summary>
    public enum FaultKind
    {
        /// <summary>An HTTP status.</summary>
        Status,
        /// <summary>A delay before the normal answer.</summary>
        Delay,
        /// <summary>The connection is aborted.</summary>
        Abort,
        /// <summary>200 with an HTML body.</summary>
        Html,
    }
}
