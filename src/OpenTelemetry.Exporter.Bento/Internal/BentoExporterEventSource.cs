using System.Diagnostics.Tracing;
using BentoSinks.Diagnostics;

namespace OpenTelemetry.Exporter.Bento
{
    /// <summary>
    /// The exporter's diagnostics, as OpenTelemetry components report them: an <see cref="EventSource"/> named
    /// <c>OpenTelemetry-Exporter-Bento</c>. Typed events carry their values as payload fields (a drop reason and count,
    /// an HTTP status) and, last, the readable line; <see cref="Warning"/> and <see cref="Error"/> carry the rest. No
    /// payload ever holds a key, the Authorization value, an email or an event body.
    /// </summary>
    [EventSource(Name = BentoExporterDiagnostics.EventSourceName)]
    internal sealed class BentoExporterEventSource : EventSource, IBentoDiagnosticEvents
    {
        public static readonly BentoExporterEventSource Log = new BentoExporterEventSource();

        void IBentoDiagnostics.Information(string message) => Information(message);

        void IBentoDiagnostics.Warning(string message) => Warning(message);

        void IBentoDiagnostics.Error(string message) => Error(message);

        void IBentoDiagnosticEvents.EventsDropped(DropReason reason, long count, string message) => EventsDropped(reason.Name(), count, message);

        void IBentoDiagnosticEvents.Problem(in BentoProblem problem, string message)
        {
            switch (problem.Kind)
            {
                case BentoProblemKind.RequestRetried: RequestRetried(problem.Status, message); break;
                case BentoProblemKind.RequestFailed: RequestFailed(problem.Status, message); break;
                case BentoProblemKind.Unauthorized: Unauthorized(message); break;
                case BentoProblemKind.InvalidEvent: InvalidEvent(problem.Detail, message); break;
                default:
                    if (problem.IsError) Error(message); else Warning(message);
                    break;
            }
        }

        /// <summary>Any other warning.</summary>
        [Event(1, Message = "{0}", Level = EventLevel.Warning)]
        public void Warning(string message)
        {
            if (IsEnabled(EventLevel.Warning, EventKeywords.All)) WriteEvent(1, message);
        }

        /// <summary>Any other error (the delivery loop, shutdown, a redirect, retries given up, a failed flush).</summary>
        [Event(2, Message = "{0}", Level = EventLevel.Error)]
        public void Error(string message)
        {
            if (IsEnabled(EventLevel.Error, EventKeywords.All)) WriteEvent(2, message);
        }

        /// <summary>Events were not delivered: the reason (<c>queue_full</c>, <c>no_email</c>, <c>rejected</c>, …) and how many since the last report.</summary>
        [Event(3, Message = "{2}", Level = EventLevel.Warning)]
        public void EventsDropped(string reason, long count, string message)
        {
            if (IsEnabled(EventLevel.Warning, EventKeywords.All)) WriteEvent(3, reason, count, message);
        }

        /// <summary>A request failed and will be retried: the HTTP status (429, 408, 5xx), or 0 when no response arrived.</summary>
        [Event(4, Message = "{1}", Level = EventLevel.Warning)]
        public void RequestRetried(int status, string message)
        {
            if (IsEnabled(EventLevel.Warning, EventKeywords.All)) WriteEvent(4, status, message);
        }

        /// <summary>Bento refused a request, or an event isolated by splitting, for good: the HTTP status.</summary>
        [Event(5, Message = "{1}", Level = EventLevel.Error)]
        public void RequestFailed(int status, string message)
        {
            if (IsEnabled(EventLevel.Error, EventKeywords.All)) WriteEvent(5, status, message);
        }

        /// <summary>Bento answered 401 or 403: the site UUID, the keys or the account need checking.</summary>
        [Event(6, Message = "{0}", Level = EventLevel.Error)]
        public void Unauthorized(string message)
        {
            if (IsEnabled(EventLevel.Error, EventKeywords.All)) WriteEvent(6, message);
        }

        /// <summary>An event could not be a valid Bento event (an invalid <c>$purchase</c>, a <c>$tag</c> without a tag): why, free of event data.</summary>
        [Event(7, Message = "{1}", Level = EventLevel.Warning)]
        public void InvalidEvent(string reason, string message)
        {
            if (IsEnabled(EventLevel.Warning, EventKeywords.All)) WriteEvent(7, reason, message);
        }

        /// <summary>Normal operation worth a line: events an earlier process left in the buffer directory are sent first.</summary>
        [Event(8, Message = "{0}", Level = EventLevel.Informational)]
        public void Information(string message)
        {
            if (IsEnabled(EventLevel.Informational, EventKeywords.All)) WriteEvent(8, message);
        }
    }
}
