using System;

namespace BentoSinks.Delivery
{
    internal enum SendOutcomeKind
    {
        Success,
        Retryable,
        BadRequest,
        TooLarge,
        Unauthorized,
        Rejected,
        /// <summary>A 3xx: the endpoint is not Bento's API base (redirects are never followed: a POST would be lost or replayed).</summary>
        Redirect,
        /// <summary>A 2xx without Bento's JSON result (a proxy or a captive portal may have answered). Not retried, not sent; in durable mode held on disk like a 404.</summary>
        Unconfirmed,
    }

    internal readonly struct SendOutcome
    {
        public SendOutcome(SendOutcomeKind kind, int status, int failed = 0, TimeSpan? retryAfter = null, string? detail = null, bool tlsRefused = false)
        {
            TlsRefused = tlsRefused;
            Kind = kind;
            Status = status;
            Failed = failed;
            RetryAfter = retryAfter;
            Detail = detail;
        }

        public SendOutcomeKind Kind { get; }
        /// <summary>The HTTP status, or 0 when no response arrived (timeout, connection failure).</summary>
        public int Status { get; }
        /// <summary>On success: how many events Bento counted as failed.</summary>
        public int Failed { get; }
        public TimeSpan? RetryAfter { get; }
        /// <summary>No response: the client refused the server's TLS certificate (a name mismatch, an untrusted chain): a wrong setting.</summary>
        public bool TlsRefused { get; }
        /// <summary>A description free of secrets, emails and event data.</summary>
        public string? Detail { get; }
    }
}
