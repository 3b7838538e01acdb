using System;

namespace Bento.Emulator
{
    /// <summary>What the emulator does to a request instead of (or before) answering it normally.</summary>
    public sealed class Fault
    {
        private Fault(FaultKind kind, int status, string? retryAfter, TimeSpan delay, string? contentType = null, string? body = null, string? location = null)
        {
            Kind = kind;
            Status = status;
            RetryAfter = retryAfter;
            Delay = delay;
            ContentType = contentType;
            Body = body;
            Location = location;
        }

        /// <summary>The kind of fault.</summary>
        public FaultKind Kind { get; }
        /// <summary>The status answered by a <see cref="FaultKind.Status"/> fault.</summary>
        public int Status { get; }
        /// <summary>The raw <c>Retry-After</c> header value, if any (seconds or an HTTP date).</summary>
        public string? RetryAfter { get; }
        /// <summary>How long a <see cref="FaultKind.Delay"/> fault waits before answering normally, or a <see cref="FaultKind.StallBody"/> fault stalls.</summary>
        public TimeSpan Delay { get; }
        /// <summary>The <c>Content-Type</c> of a <see cref="FaultKind.Body"/> fault's answer (none when null).</summary>
        public string? ContentType { get; }
        /// <summary>The body of a <see cref="FaultKind.Body"/> fault's answer (empty when null or empty).</summary>
        public string? Body { get; }
        /// <summary>The <c>Location</c> header of a <see cref="FaultKind.Redirect"/> fault.</summary>
        public string? Location { get; }

        /// <summary>Answer with <paramref name="status"/> (and a <c>Retry-After</c> header when given), without processing the body.</summary>
        public static Fault WithStatus(int status, string? retryAfter = null) => new Fault(FaultKind.Status, status, retryAfter, TimeSpan.Zero);

        /// <summary>Wait (on the emulator's clock), then answer normally.</summary>
        public static Fault Delayed(TimeSpan delay) => new Fault(FaultKind.Delay, 0, null, delay);

        /// <summary>Abort the connection without an answer.</summary>
        public static Fault Abort() => new Fault(FaultKind.Abort, 0, null, TimeSpan.Zero);

        /// <summary>Answer 200 with an HTML page, as an edge that blocks the request does.</summary>
        public static Fault HtmlPage() => new Fault(FaultKind.Html, 200, null, TimeSpan.Zero);

        /// <summary>
        /// Answer with <paramref name="status"/> and exactly this <paramref name="body"/> (nothing when null or empty) and
        /// <paramref name="contentType"/>, without processing the request; e.g. 204, a 202 with a result, a 422 with Bento's errors.
        /// </summary>
        public static Fault WithBody(int status, string? body, string? contentType = "application/json; charset=utf-8", string? retryAfter = null)
            => new Fault(FaultKind.Body, status, retryAfter, TimeSpan.Zero, contentType, body);

        /// <summary>Answer <paramref name="status"/> (a 3xx) with a <c>Location</c> header, as a moved endpoint does.</summary>
        public static Fault Redirect(int status, string location) => new Fault(FaultKind.Redirect, status, null, TimeSpan.Zero, location: location);

        /// <summary>
        /// Answer 200 with the headers and the first bytes of a JSON body, then stall (on the emulator's clock, for
        /// <paramref name="stall"/>, one hour by default) until the client goes away.
        /// </summary>
        public static Fault StallMidBody(TimeSpan? stall = null) => new Fault(FaultKind.StallBody, 200, null, stall ?? TimeSpan.FromHours(1));

        /// <inheritdoc />
        public override string ToString() => Kind switch
        {
            FaultKind.Status => $"status {Status}" + (RetryAfter is null ? "" : $" (Retry-After: {RetryAfter})"),
            FaultKind.Delay => $"delay {Delay.TotalMilliseconds} ms",
            FaultKind.Body => $"status {Status} with a {ContentType ?? "untyped"} body of {Body?.Length ?? 0} chars",
            FaultKind.Redirect => $"redirect {Status}",
            FaultKind.StallBody => $"stall mid-body for {Delay.TotalMilliseconds} ms",
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
        /// <summary>A status with a given body and content type.</summary>
        Body,
        /// <summary>A 3xx with a <c>Location</c> header.</summary>
        Redirect,
        /// <summary>200, headers and part of the body, then a stall.</summary>
        StallBody,
    }
}
