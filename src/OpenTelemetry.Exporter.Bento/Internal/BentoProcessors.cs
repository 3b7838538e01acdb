using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using BentoSinks;
using BentoSinks.Delivery;
using BentoSinks.Diagnostics;
using BentoSinks.Json;
using OpenTelemetry.Logs;

namespace OpenTelemetry.Exporter.Bento
{
    /// <summary>Owns one pipeline for a processor: flush and shutdown with OpenTelemetry's timeouts.</summary>
    internal sealed class OtelPipelineHost
    {
        public OtelPipelineHost(BentoExporterOptions options, string signal)
        {
            if (options is null) throw new ArgumentNullException(nameof(options));
            Options = options.Snapshot();
            var settings = Options.Validate();
            settings.SendScope = () => SuppressInstrumentationScope.Begin();
            Formatter = new OtelEventFormatter(Options);
            Pipeline = new BentoPipeline<OtelItem>(settings, Formatter, BentoExporterEventSource.Log, "OpenTelemetry " + signal);
        }

        public BentoExporterOptions Options { get; }
        public OtelEventFormatter Formatter { get; }
        public BentoPipeline<OtelItem> Pipeline { get; }

        /// <summary>ForceFlush: true once every event offered before the call has settled, within the timeout.</summary>
        public bool Flush(int timeoutMilliseconds)
        {
            try
            {
                var task = Pipeline.FlushAsync();
                return timeoutMilliseconds == Timeout.Infinite ? Wait(task) : task.Wait(timeoutMilliseconds);
            }
            catch (Exception ex)
            {
                BentoExporterEventSource.Log.Error("Bento: flush failed (" + ex.GetType().Name + ").");
                return false;
            }
        }

        /// <summary>
        /// Shutdown: delivers what is queued within the SDK's deadline (and at most ShutdownTimeout), then stops hard and
        /// counts the rest as shutdown. The deadline is passed down, so the call returns in time; a later Dispose is free.
        /// </summary>
        public bool Shutdown(int timeoutMilliseconds)
        {
            try
            {
                var deadline = timeoutMilliseconds == Timeout.Infinite ? (TimeSpan?)null : TimeSpan.FromMilliseconds(Math.Max(0, timeoutMilliseconds));
                var task = Pipeline.ShutdownAsync(deadline);
                if (deadline is null) return Wait(task);
                // The pipeline enforces the (earlier of the) deadline and ShutdownTimeout on its own clock, then stops
                // hard and returns within a short grace; this wait only guards against a clock that does not move.
                var limit = (deadline.Value < Options.ShutdownTimeout ? deadline.Value : Options.ShutdownTimeout) + TimeSpan.FromSeconds(6);
                return task.Wait(limit);
            }
            catch (Exception ex)
            {
                BentoExporterEventSource.Log.Error("Bento: shutdown failed (" + ex.GetType().Name + ").");
                return false;
            }
        }

        private static bool Wait(Task task)
        {
            task.GetAwaiter().GetResult();
            return true;
        }
    }

    /// <summary>What both processors share: one pipeline, flushed and shut down with OpenTelemetry's timeouts.</summary>
    internal abstract class BentoProcessorBase<T> : BaseProcessor<T>
    {
        protected BentoProcessorBase(BentoExporterOptions options, string signal) => Host = new OtelPipelineHost(options, signal);

        protected OtelPipelineHost Host { get; }

        internal BentoPipeline<OtelItem> Pipeline => Host.Pipeline;

        protected override bool OnForceFlush(int timeoutMilliseconds) => Host.Flush(timeoutMilliseconds);

        protected override bool OnShutdown(int timeoutMilliseconds) => Host.Shutdown(timeoutMilliseconds);

        protected override void Dispose(bool disposing)
        {
            if (disposing) Host.Shutdown(Timeout.Infinite);
            base.Dispose(disposing);
        }
    }

    /// <summary>
    /// Filters finished activities in <see cref="OnEnd"/>: only their analytics events are queued, into the Bento
    /// pipeline (never into OpenTelemetry's batch queue, where ordinary spans would crowd them out).
    /// </summary>
    internal sealed class BentoActivityProcessor : BentoProcessorBase<Activity>
    {
        public BentoActivityProcessor(BentoExporterOptions options)
            : base(options, "traces")
        {
        }

        public override void OnEnd(Activity data)
        {
            try
            {
                if (data is null) return;
                var formatter = Host.Formatter;
                foreach (ref readonly var activityEvent in data.EnumerateEvents())
                {
                    if (!formatter.IsAnalytics(activityEvent)) continue;
                    var type = activityEvent.Name;
                    if (!Host.Pipeline.Routes(type)) continue;
                    var baggage = Baggage.Current;
                    var email = formatter.FindEmail(data, activityEvent, baggage);
                    Host.Pipeline.Offer(new OtelItem(type, email ?? "", activityEvent.Timestamp, data, activityEvent, baggage), email != null);
                }
            }
            catch (Exception ex)
            {
                BentoExporterEventSource.Log.Error("Bento: failed to queue an activity's events (" + ex.GetType().Name + ").");
            }
        }

    }

    /// <summary>
    /// Filters log records in <see cref="OnEnd"/>: a record whose attributes or scopes hold the analytics marker is
    /// copied (records are pooled by the SDK) and queued; every other record costs a scan of its attributes.
    /// </summary>
    internal sealed class BentoLogProcessor : BentoProcessorBase<LogRecord>
    {
        private const string OriginalFormat = "{OriginalFormat}";
        private readonly string _marker;
        private readonly string[] _emailNames;
        private readonly Dictionary<string, string> _fieldMap;

        [ThreadStatic] private static Scan? t_scan;

        public BentoLogProcessor(BentoExporterOptions options)
            : base(options, "logs")
        {
            _marker = Host.Options.LogAnalyticsAttributeName;
            _emailNames = new List<string>(Host.Options.LogEmailAttributeNames).ToArray();
            _fieldMap = new Dictionary<string, string>(Host.Options.LogFieldMappings, StringComparer.Ordinal);
        }

        public override void OnEnd(LogRecord data)
        {
            try
            {
                if (data is null) return;
                var scan = t_scan ??= new Scan();
                scan.Reset(this);
                var attributes = data.Attributes;
                if (attributes != null) for (var i = 0; i < attributes.Count; i++) scan.Visit(attributes[i], fromScope: false);
                data.ForEachScope(static (scope, s) =>
                {
                    foreach (var pair in scope) s.Visit(pair, fromScope: true);
                }, scan);
                if (scan.Type is null) return;

                if (!Host.Pipeline.Routes(scan.Type)) return;
                var email = scan.Email();
                var timestamp = new DateTimeOffset(DateTime.SpecifyKind(data.Timestamp, DateTimeKind.Utc));
                Host.Pipeline.Offer(new OtelItem(scan.Type, email ?? "", timestamp, scan.Fields(), scan.Details()), email != null);
            }
            catch (Exception ex)
            {
                BentoExporterEventSource.Log.Error("Bento: failed to queue a log record (" + ex.GetType().Name + ").");
            }
        }

        /// <summary>One pass over a record's attributes and scopes; reused per thread.</summary>
        private sealed class Scan
        {
            private BentoLogProcessor _owner = null!;
            private readonly string?[] _emails = new string?[8];
            private readonly List<KeyValuePair<string, object?>> _fields = new List<KeyValuePair<string, object?>>();
            private readonly List<KeyValuePair<string, object?>> _details = new List<KeyValuePair<string, object?>>();

            public string? Type { get; private set; }

            public void Reset(BentoLogProcessor owner)
            {
                _owner = owner;
                Type = null;
                Array.Clear(_emails, 0, _emails.Length);
                _fields.Clear();
                _details.Clear();
            }

            public void Visit(KeyValuePair<string, object?> pair, bool fromScope)
            {
                var key = pair.Key;
                if (key == _owner._marker)
                {
                    if (Type is null && pair.Value is string s && s.Length > 0) Type = s;
                    return;
                }
                var names = _owner._emailNames;
                for (var i = 0; i < names.Length && i < _emails.Length; i++)
                {
                    if (key == names[i])
                    {
                        if (_emails[i] is null && pair.Value is string e && BentoJson.LooksLikeEmail(e)) _emails[i] = e;
                        return;
                    }
                }
                if (_owner._fieldMap.TryGetValue(key, out var field))
                {
                    if (!_fields.Exists(f => f.Key == field)) _fields.Add(new KeyValuePair<string, object?>(field, pair.Value));
                    return;
                }
                if (!fromScope && key != OriginalFormat) _details.Add(pair);
            }

            public string? Email()
            {
                foreach (var e in _emails) if (e != null) return e;
                return null;
            }

            public KeyValuePair<string, object?>[] Fields() => _fields.ToArray();

            public KeyValuePair<string, object?>[] Details() => _details.ToArray();
        }
    }
}
