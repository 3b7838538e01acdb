using System;
using System.Collections.Generic;
using System.Diagnostics;
using BentoSinks;

namespace OpenTelemetry.Exporter
{
    /// <summary>
    /// Options of the Bento exporter: delivery (from <see cref="BentoOptions"/>) and how activity events and log
    /// records map to Bento events. Bound from named options; the environment variables <c>BENTO_SITE_UUID</c>,
    /// <c>BENTO_PUBLISHABLE_KEY</c>, <c>BENTO_SECRET_KEY</c> and <c>BENTO_ENDPOINT</c> fill what code does not set.
    /// </summary>
    public sealed class BentoExporterOptions : BentoOptions
    {
        /// <summary>The default <see cref="AnalyticsTagName"/>: <c>analytics.event</c>.</summary>
        public const string DefaultAnalyticsTagName = "analytics.event";

        /// <summary>The default <see cref="LogAnalyticsAttributeName"/>: <c>AnalyticsEvent</c>.</summary>
        public const string DefaultLogAnalyticsAttributeName = "AnalyticsEvent";

        /// <summary>An activity event is an analytics event when this tag is <c>true</c> (a bool or the string "true"). Its name is the Bento type.</summary>
        public string AnalyticsTagName { get; set; } = DefaultAnalyticsTagName;

        /// <summary>When set, decides instead of <see cref="AnalyticsTagName"/> which activity events are analytics events.</summary>
        public Func<ActivityEvent, bool>? AnalyticsEventFilter { get; set; }

        /// <summary>
        /// Keys searched for the email, in order; each is looked up in the event's tags, then the activity's tags, then
        /// baggage (the activity's and OpenTelemetry's). A value counts only when it looks like an email.
        /// </summary>
        public IList<string> EmailTagNames { get; set; } = new List<string> { "user.email", "enduser.id" };

        /// <summary>Tags (looked up like the email) written to the subscriber's <c>fields</c>, by tag → field name.</summary>
        public IDictionary<string, string> FieldTagMappings { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["user.first_name"] = "first_name",
            ["user.last_name"] = "last_name",
        };

        /// <summary>Add the trace and span ids to <c>details</c> (<c>trace_id</c>, <c>span_id</c>). Off by default.</summary>
        public bool IncludeTraceContext { get; set; }

        /// <summary>
        /// A log record is an analytics event when this attribute (from its state or its scopes, name matched ignoring case,
        /// so a <c>[LoggerMessage]</c> parameter <c>analyticsEvent</c> left out of the message template counts) holds the
        /// Bento type as a string; or when it is written inside <c>ILogger.BeginBentoEvent(type)</c>.
        /// </summary>
        public string LogAnalyticsAttributeName { get; set; } = DefaultLogAnalyticsAttributeName;

        /// <summary>Attributes and scope values searched for the email of a log record, in order.</summary>
        public IList<string> LogEmailAttributeNames { get; set; } = new List<string> { "Email", "UserEmail", "user.email" };

        /// <summary>Attributes and scope values written to <c>fields</c> for log records, by attribute → field name.</summary>
        public IDictionary<string, string> LogFieldMappings { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["FirstName"] = "first_name",
            ["LastName"] = "last_name",
        };

        internal BentoExporterOptions Snapshot()
        {
            var copy = new BentoExporterOptions();
            CopyTo(copy);
            copy.AnalyticsTagName = AnalyticsTagName;
            copy.AnalyticsEventFilter = AnalyticsEventFilter;
            copy.EmailTagNames = new List<string>(EmailTagNames ?? Array.Empty<string>());
            copy.FieldTagMappings = new Dictionary<string, string>(FieldTagMappings ?? new Dictionary<string, string>(), StringComparer.Ordinal);
            copy.IncludeTraceContext = IncludeTraceContext;
            copy.LogAnalyticsAttributeName = LogAnalyticsAttributeName;
            copy.LogEmailAttributeNames = new List<string>(LogEmailAttributeNames ?? Array.Empty<string>());
            copy.LogFieldMappings = new Dictionary<string, string>(LogFieldMappings ?? new Dictionary<string, string>(), StringComparer.Ordinal);
            return copy;
        }
    }
}
