namespace BentoSinks.Diagnostics
{
    /// <summary>What kind of problem a pipeline reported.</summary>
    internal enum BentoProblemKind
    {
        /// <summary>Anything else: the loop, shutdown, the failure listener, a redirect, retries given up.</summary>
        Other,
        /// <summary>A request failed and will be retried (429, 408, 5xx, a timeout, a network failure: status 0).</summary>
        RequestRetried,
        /// <summary>Bento refused a request or an event for good (400/422 isolated to one event, another 4xx).</summary>
        RequestFailed,
        /// <summary>Bento answered 401 or 403.</summary>
        Unauthorized,
        /// <summary>An event could not be mapped to a valid Bento event; <see cref="BentoProblem.Detail"/> says why.</summary>
        InvalidEvent,
    }

    /// <summary>A problem, classified from the key the pipeline reports it under (its rate-limiting key).</summary>
    internal readonly struct BentoProblem
    {
        public BentoProblem(BentoProblemKind kind, int status, string detail, bool isError)
        {
            Kind = kind;
            Status = status;
            Detail = detail;
            IsError = isError;
        }

        public BentoProblemKind Kind { get; }

        /// <summary>The HTTP status, when the problem is a request's (0: no response, or not known).</summary>
        public int Status { get; }

        /// <summary>For an invalid event: why (free of event data). Otherwise empty.</summary>
        public string Detail { get; }

        public bool IsError { get; }

        /// <summary>
        /// Classifies a problem by the key the pipeline rate-limits it under: <c>retry:&lt;status&gt;</c>,
        /// <c>refused:&lt;status&gt;</c>, <c>rejected:&lt;status&gt;</c>, <c>unauthorized</c>, <c>invalid:&lt;reason&gt;</c>,
        /// <c>format:&lt;exception type&gt;</c>. Keys are identifiers the pipeline chooses, never message text; an unknown
        /// one is <see cref="BentoProblemKind.Other"/>, so a new key only loses its type, never its line.
        /// </summary>
        public static BentoProblem FromKey(string key, bool error)
        {
            var colon = key.IndexOf(':');
            var head = colon < 0 ? key : key.Substring(0, colon);
            var tail = colon < 0 ? "" : key.Substring(colon + 1);
            switch (head)
            {
                case "retry" when TryStatus(tail, out var status):
                    return new BentoProblem(BentoProblemKind.RequestRetried, status, "", error);
                case "refused" when TryStatus(tail, out var status):
                case "rejected" when TryStatus(tail, out status):
                    return new BentoProblem(BentoProblemKind.RequestFailed, status, "", error);
                case "unauthorized":
                    return new BentoProblem(BentoProblemKind.Unauthorized, 0, "", error);
                case "invalid":
                    return new BentoProblem(BentoProblemKind.InvalidEvent, 0, tail, error);
                case "format":
                    return new BentoProblem(BentoProblemKind.InvalidEvent, 0, "could not be written as JSON (" + tail + ")", error);
                default:
                    return new BentoProblem(BentoProblemKind.Other, 0, "", error);
            }
        }

        private static bool TryStatus(string text, out int status)
            => int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out status);
    }
}
