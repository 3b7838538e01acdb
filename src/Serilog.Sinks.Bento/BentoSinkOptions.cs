using System;
using System.Collections.Generic;
using BentoSinks;

namespace Serilog.Sinks.Bento
{
    /// <summary>Options of the Serilog Bento sink: delivery (from <see cref="BentoOptions"/>) and how log events map to Bento events.</summary>
    public sealed class BentoSinkOptions : BentoOptions
    {
        /// <summary>The default <see cref="AnalyticsEventPropertyName"/>: <c>AnalyticsEvent</c>.</summary>
        public const string DefaultAnalyticsEventPropertyName = "AnalyticsEvent";

        /// <summary>
        /// The property that marks a log event as an analytics event; its scalar string value is the Bento event
        /// <c>type</c>. Events without it are ignored at near-zero cost. <c>ForAnalytics(type)</c> adds the default name;
        /// with another name, tag events with <c>ForAnalytics(type, name)</c> (a logger does not know its sinks' options).
        /// </summary>
        public string AnalyticsEventPropertyName { get; set; } = DefaultAnalyticsEventPropertyName;

        /// <summary>Properties searched in order for the subscriber's email; the first whose value looks like an email wins.</summary>
        public IList<string> EmailPropertyNames { get; set; } = new List<string> { "Email", "UserEmail", "user.email" };

        /// <summary>Properties written to the subscriber's <c>fields</c> (flat; non-scalar values stay in <c>details</c>), by property name → field name.</summary>
        public IDictionary<string, string> FieldMappings { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["FirstName"] = "first_name",
            ["LastName"] = "last_name",
        };

        /// <summary>
        /// A property holding a structure or dictionary whose scalar members are merged into <c>fields</c> as they are
        /// named (for <c>$subscribe</c> and <c>$update_fields</c>). Defaults to <c>Fields</c>.
        /// </summary>
        public string FieldsPropertyName { get; set; } = "Fields";

        /// <summary>
        /// Properties never written to <c>details</c>: by default the context that common enrichers and ASP.NET Core add
        /// (<c>SourceContext</c>, <c>RequestId</c>, <c>RequestPath</c>, <c>ConnectionId</c>, <c>TraceId</c>, <c>SpanId</c>, …).
        /// </summary>
        public ICollection<string> ExcludedProperties { get; set; } = new HashSet<string>(StringComparer.Ordinal)
        {
            "SourceContext", "RequestId", "RequestPath", "ConnectionId", "ActionId", "ActionName", "EventId",
            "TraceId", "SpanId", "ParentId", "MachineName", "EnvironmentName", "ProcessId", "ThreadId",
        };

        /// <summary>Write a destructured object's type name as <c>$type</c> in <c>details</c>. Off by default.</summary>
        public bool IncludeTypeTag { get; set; }

        internal BentoSinkOptions Snapshot()
        {
            var copy = new BentoSinkOptions();
            CopyTo(copy);
            copy.AnalyticsEventPropertyName = AnalyticsEventPropertyName;
            copy.EmailPropertyNames = new List<string>(EmailPropertyNames ?? Array.Empty<string>());
            copy.FieldMappings = new Dictionary<string, string>(FieldMappings ?? new Dictionary<string, string>(), StringComparer.Ordinal);
            copy.FieldsPropertyName = FieldsPropertyName;
            copy.ExcludedProperties = new HashSet<string>(ExcludedProperties ?? Array.Empty<string>(), StringComparer.Ordinal);
            copy.IncludeTypeTag = IncludeTypeTag;
            return copy;
        }
    }
}
