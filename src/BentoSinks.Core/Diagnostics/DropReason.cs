namespace BentoSinks.Diagnostics
{
    /// <summary>Why an analytics event was not delivered. Every undelivered event is counted under exactly one reason.</summary>
    internal enum DropReason
    {
        /// <summary>The bounded queue was full.</summary>
        QueueFull,
        /// <summary>The event carried no usable email.</summary>
        NoEmail,
        /// <summary>The event type is routed away from Bento (<c>ExcludedEventTypes</c> / <c>IncludedEventTypes</c>).</summary>
        Excluded,
        /// <summary>The event could not be mapped (an invalid <c>$purchase</c>, a failing formatter).</summary>
        Invalid,
        /// <summary>The event alone is larger than the request byte limit.</summary>
        TooLarge,
        /// <summary>Bento refused the event (400 isolated to it, another 4xx, or counted in <c>failed</c>).</summary>
        Rejected,
        /// <summary>Retries on 429, 5xx and network failures lasted past the retry time limit.</summary>
        RetriesExhausted,
        /// <summary>Bento answered 401 or 403: the credentials or the account are wrong.</summary>
        Unauthorized,
        /// <summary>The pipeline was disposed before the event could be delivered.</summary>
        Shutdown,
        /// <summary>The event's record in the buffer directory was damaged or torn (a crash mid-write, bad bytes on disk).</summary>
        Corrupt,
        /// <summary>The buffer directory reached <c>BufferSizeLimit</c>: its oldest events were dropped first.</summary>
        BufferFull,
        /// <summary>The event waited in the buffer directory longer than <c>BufferAgeLimit</c>.</summary>
        Expired,
        /// <summary>
        /// Something answered 2xx without Bento's JSON result (<c>{"results": n}</c>): a proxy, a captive portal or a wrong
        /// Endpoint may have taken the events; nothing confirms that Bento received them. Not retried (a real Bento that
        /// answered would get them twice), not counted as sent.
        /// </summary>
        Unconfirmed,
        /// <summary>The event's record was removed from the buffer directory from outside (the directory or a segment deleted) before it was sent.</summary>
        BufferLost,
    }

    internal static class DropReasons
    {
        public const int Count = 14;

        private static readonly string[] Names =
        {
            "queue_full", "no_email", "excluded", "invalid", "too_large", "rejected", "retries_exhausted", "unauthorized", "shutdown", "corrupt", "buffer_full", "expired", "unconfirmed", "buffer_lost",
        };

        private static readonly string[] Explanations =
        {
            "the queue was full; raise QueueLimit or check that Bento is reachable",
            "analytics events need an email (an Email, UserEmail or user.email property or tag, usually set by an enricher or log context)",
            "their event type is excluded from Bento by ExcludedEventTypes / IncludedEventTypes",
            "they could not be mapped to a valid Bento event",
            "each was larger than the request byte limit on its own",
            "Bento refused them",
            "Bento could not be reached within the retry time limit",
            "Bento refused the credentials (401/403): check the site UUID and the keys",
            "the pipeline was disposed before they could be delivered",
            "their records in the buffer directory were damaged or torn (a crash mid-write or bad bytes on disk); the records after them were delivered",
            "the buffer directory reached BufferSizeLimit, so its oldest events were dropped; check that Bento is reachable or raise the limit",
            "they waited in the buffer directory longer than BufferAgeLimit",
            "the endpoint answered 2xx without Bento's JSON result, so nothing confirms that Bento received them: a proxy, a captive portal or a wrong Endpoint may be taking requests",
            "their records were removed from the buffer directory from outside (the directory or a segment deleted) before they were sent",
        };

        public static string Name(this DropReason reason) => Names[(int)reason];

        public static string Explanation(this DropReason reason) => Explanations[(int)reason];
    }
}
