using System;
using System.Collections.Generic;
using System.Text.Json;
using System.Threading;

namespace Bento.Emulator
{
    /// <summary>
    /// What the batch events route received: every request (answered or aborted), the events it accepted, their counts
    /// by type, and how many requests have reached the handler. Thread-safe; each change is announced on
    /// <see cref="Changed"/>.
    /// </summary>
    internal sealed class RequestLog
    {
        private readonly BentoEmulatorOptions _options;
        private readonly object _gate = new object();
        private readonly List<ReceivedRequest> _requests = new List<ReceivedRequest>();
        private readonly List<ReceivedEvent> _events = new List<ReceivedEvent>();
        private readonly Dictionary<string, int> _countsByType = new Dictionary<string, int>(StringComparer.Ordinal);
        private int _eventCount;
        private int _started;

        public RequestLog(BentoEmulatorOptions options, ChangeSignal changed)
        {
            _options = options;
            Changed = changed;
        }

        /// <summary>Notified after every change to the log.</summary>
        public ChangeSignal Changed { get; }

        public IReadOnlyList<ReceivedRequest> Requests { get { lock (_gate) return _requests.ToArray(); } }

        public IReadOnlyList<ReceivedEvent> Events { get { lock (_gate) return _events.ToArray(); } }

        public IReadOnlyDictionary<string, int> CountsByType { get { lock (_gate) return new Dictionary<string, int>(_countsByType); } }

        public int RequestCount { get { lock (_gate) return _requests.Count; } }

        public int EventCount => Volatile.Read(ref _eventCount);

        public int RequestsStarted => Volatile.Read(ref _started);

        /// <summary>A request reached the handler (it is recorded once answered or aborted).</summary>
        public void Started()
        {
            Interlocked.Increment(ref _started);
            Changed.Notify();
        }

        /// <summary>Records a request and what was answered; <paramref name="accepted"/> holds the events accepted, if any.</summary>
        public void Record(IncomingRequest request, int status, JsonElement? accepted = null)
        {
            lock (_gate)
            {
                var index = _requests.Count;
                var eventCount = accepted?.GetArrayLength() ?? 0;
                _requests.Add(new ReceivedRequest(_options.TimeProvider.GetUtcNow(), request.PathAndQuery, request.Headers,
                    _options.RecordEvents ? request.Body : "", status, eventCount));
                if (accepted is { } events)
                {
                    foreach (var e in events.EnumerateArray())
                    {
                        var type = e.GetProperty("type").GetString()!;
                        _countsByType[type] = _countsByType.TryGetValue(type, out var c) ? c + 1 : 1;
                        if (_options.RecordEvents) _events.Add(new ReceivedEvent(e.Clone(), index));
                    }
                    _eventCount += eventCount;
                }
            }
            Changed.Notify();
        }
    }
}
