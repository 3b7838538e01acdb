using System;
using System.Collections;
using System.Collections.Generic;
using System.Threading;
using OpenTelemetry.Exporter;

namespace OpenTelemetry.Exporter.Bento
{
    /// <summary>
    /// The scope of <c>ILogger.BeginBentoEvent(type)</c>: every log record written inside it (on the same async flow) is a
    /// Bento event of that type. It is two things at once, so it works whatever the logging setup:
    /// <list type="bullet">
    /// <item>an async-local the log exporter reads in <c>OnEnd</c> (on the caller's thread), so it works with
    /// <c>IncludeScopes = false</c> and with any <c>LogAnalyticsAttributeName</c>;</item>
    /// <item>an ordinary logging scope holding <c>AnalyticsEvent = type</c>, so a provider that flows scopes into its
    /// events (Serilog's <c>AddSerilog()</c>, whose sink reads the <c>AnalyticsEvent</c> property) sees it too.</item>
    /// </list>
    /// The type never enters the record's message or attributes: the human-readable line stays as written.
    /// </summary>
    internal sealed class BentoEventScope : IReadOnlyList<KeyValuePair<string, object?>>, IDisposable
    {
        private static readonly AsyncLocal<BentoEventScope?> s_current = new AsyncLocal<BentoEventScope?>();
        private static volatile bool s_everUsed;

        private readonly BentoEventScope? _parent;
        private IDisposable? _loggerScope;
        private int _disposed;

        private BentoEventScope(string type, BentoEventScope? parent)
        {
            Type = type;
            _parent = parent;
        }

        /// <summary>The Bento event type of the records written inside the scope.</summary>
        public string Type { get; }

        /// <summary>
        /// The innermost open scope of the current async flow, or null. Free (one volatile read) in a process that never
        /// opened one, so ordinary records of apps that do not use it pay nothing.
        /// </summary>
        public static BentoEventScope? Current => s_everUsed ? Open(s_current.Value) : null;

        /// <summary><paramref name="scope"/>, or its nearest ancestor not yet disposed (one ended out of order or on another flow is no scope).</summary>
        private static BentoEventScope? Open(BentoEventScope? scope)
        {
            while (scope != null && Volatile.Read(ref scope._disposed) != 0) scope = scope._parent;
            return scope;
        }

        public static BentoEventScope Begin(Microsoft.Extensions.Logging.ILogger logger, string type)
        {
            s_everUsed = true;
            var scope = new BentoEventScope(type, s_current.Value);
            s_current.Value = scope;
            try
            {
                scope._loggerScope = logger.BeginScope(scope);
            }
            catch
            {
                s_current.Value = scope._parent;
                throw;
            }
            return scope;
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            _loggerScope?.Dispose();
            // Scopes end in the order they began on one flow; one ended out of order (or on another flow) leaves the
            // current scope alone, and is skipped when the scopes inside it end (never current again).
            if (ReferenceEquals(s_current.Value, this)) s_current.Value = Open(_parent);
        }

        // Once disposed it holds nothing: a logging scope provider that makes it current again (Microsoft.Extensions.Logging's
        // does, when scopes end out of order) must not turn later records into events of its type.
        public int Count => Volatile.Read(ref _disposed) == 0 ? 1 : 0;

        public KeyValuePair<string, object?> this[int index]
            => index == 0 && Count == 1
                ? new KeyValuePair<string, object?>(BentoExporterOptions.DefaultLogAnalyticsAttributeName, Type)
                : throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            if (Count == 1) yield return this[0];
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        /// <summary>What a console or other text provider prints for the scope.</summary>
        public override string ToString() => BentoExporterOptions.DefaultLogAnalyticsAttributeName + ":" + Type;
    }
}
