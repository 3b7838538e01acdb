using System;
using System.Collections.Generic;

namespace Bento.Emulator
{
    /// <summary>One request the emulator received, whatever it answered.</summary>
    public sealed class ReceivedRequest
    {
        internal ReceivedRequest(long id, DateTimeOffset at, string pathAndQuery, IReadOnlyDictionary<string, string> headers, byte[] body,
            long bodyLength, int status, int eventCount, string? reason, int? firstBadEventIndex)
        {
            Id = id;
            At = at;
            PathAndQuery = pathAndQuery;
            Headers = headers;
            BodyBytes = body;
            BodyLength = bodyLength;
            Status = status;
            EventCount = eventCount;
            Reason = reason;
            FirstBadEventIndex = firstBadEventIndex;
        }

        /// <summary>Its number: 1 for the first request, increasing, never reused (not even after <see cref="BentoEmulator.Reset"/>).</summary>
        public long Id { get; }
        /// <summary>When it arrived (the emulator's clock).</summary>
        public DateTimeOffset At { get; }
        /// <summary>Path and query string.</summary>
        public string PathAndQuery { get; }
        /// <summary>Every request header, names lower-cased.</summary>
        public IReadOnlyDictionary<string, string> Headers { get; }
        /// <summary>
        /// The raw body as kept: whole for an accepted request, its first 4 KB for a refused one, empty when it was
        /// never read (refused from its headers) or when <see cref="BentoEmulatorOptions.RecordEvents"/> is off.
        /// </summary>
        public string Body => System.Text.Encoding.UTF8.GetString(BodyBytes);
        /// <summary>How many bytes of body were received (0 when it was refused before its body was read).</summary>
        public long BodyLength { get; }
        /// <summary>Whether <see cref="Body"/> holds less than was received (a refused body is kept only truncated).</summary>
        public bool BodyTruncated => BodyBytes.Length < BodyLength;
        /// <summary>The body's bytes as kept.</summary>
        internal byte[] BodyBytes { get; }
        /// <summary>The status answered (0 when the connection was aborted).</summary>
        public int Status { get; }
        /// <summary>How many events it delivered (0 when it was refused).</summary>
        public int EventCount { get; }
        /// <summary>
        /// Why it was refused, in words (<c>wrong credentials</c>, <c>missing site_uuid</c>, <c>missing User-Agent</c>,
        /// <c>event 3: 'email' must be a string holding an email</c>, <c>rate limited…</c>, <c>injected fault…</c>); null
        /// when its events were accepted. Never a credential or an event's content.
        /// </summary>
        public string? Reason { get; }
        /// <summary>Whether its events were accepted: false for every refusal and every injected fault.</summary>
        public bool Accepted => Reason is null;
        /// <summary>The index of the first event Bento's rules refused, when a body rule refused the request.</summary>
        public int? FirstBadEventIndex { get; }
        /// <summary>The <c>User-Agent</c> header it carried, or null.</summary>
        public string? UserAgent => Headers.TryGetValue("user-agent", out var ua) ? ua : null;
    }
}
