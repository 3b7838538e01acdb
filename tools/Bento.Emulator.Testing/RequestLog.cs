using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Threading;

namespace Bento.Emulator
{
    /// <summary>
    /// What the batch events route received: every request (answered, refused or aborted), the events it accepted, their
    /// counts by type and by user, and how many requests have reached the handler. Thread-safe; each change is announced
    /// on <see cref="Changed"/>. Bounded: past <see cref="BentoEmulatorOptions.MaxRecordedEvents"/> the oldest events and
    /// requests are let go (and counted in <see cref="Evicted"/>); pages are read newest first by cursor, never whole.
    /// </summary>
    internal sealed class RequestLog
    {
        private readonly BentoEmulatorOptions _options;
        private readonly object _gate = new object();
        private readonly List<ReceivedRequest> _requests = new List<ReceivedRequest>();
        private readonly List<ReceivedEvent> _events = new List<ReceivedEvent>();
        private readonly Dictionary<string, int> _countsByType = new Dictionary<string, int>(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _countsByUser = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        private long _nextRequestId;
        private long _nextEventId;
        private int _requestCount;
        private int _refusedCount;
        private int _eventCount;
        private int _evicted;
        private int _started;
        private long _version;

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

        public IReadOnlyDictionary<string, int> CountsByUser { get { lock (_gate) return new Dictionary<string, int>(_countsByUser, StringComparer.OrdinalIgnoreCase); } }

        /// <summary>Requests recorded since the start or the last reset (evicted ones included).</summary>
        public int RequestCount { get { lock (_gate) return _requestCount; } }

        public int EventCount => Volatile.Read(ref _eventCount);

        public int RequestsStarted => Volatile.Read(ref _started);

        /// <summary>Events let go to stay within <see cref="BentoEmulatorOptions.MaxRecordedEvents"/> since the last reset.</summary>
        public int Evicted => Volatile.Read(ref _evicted);

        /// <summary>Changes with every record and reset: what the page's live stream watches.</summary>
        public long Version => Interlocked.Read(ref _version);

        /// <summary>A request reached the handler (it is recorded once answered or aborted).</summary>
        public void Started()
        {
            Interlocked.Increment(ref _started);
            Changed.Notify();
        }

        /// <summary>
        /// Records a request and what was answered: <paramref name="reason"/> says why it was refused (null: accepted),
        /// <paramref name="accepted"/> holds the events accepted, if any.
        /// </summary>
        public void Record(IncomingRequest request, int status, string? reason, JsonElement? accepted = null, int? firstBadEventIndex = null)
        {
            lock (_gate)
            {
                var index = _requests.Count;
                var eventCount = accepted?.GetArrayLength() ?? 0;
                var received = new ReceivedRequest(++_nextRequestId, _options.TimeProvider.GetUtcNow(), request.PathAndQuery, request.Headers,
                    _options.RecordEvents ? request.Body : "", status, eventCount, reason, firstBadEventIndex);
                _requests.Add(received);
                _requestCount++;
                if (reason != null) _refusedCount++;
                if (accepted is { } events)
                {
                    foreach (var e in events.EnumerateArray())
                    {
                        var type = e.GetProperty("type").GetString()!;
                        var email = e.GetProperty("email").GetString()!;
                        _countsByType[type] = _countsByType.TryGetValue(type, out var c) ? c + 1 : 1;
                        _countsByUser[email] = _countsByUser.TryGetValue(email, out var u) ? u + 1 : 1;
                        var id = ++_nextEventId;
                        if (_options.RecordEvents) _events.Add(new ReceivedEvent(id, e.Clone(), index, received));
                    }
                    _eventCount += eventCount;
                }
                Evict();
                _version++;
            }
            Changed.Notify();
        }

        /// <summary>Forgets everything recorded (ids go on increasing, so cursors stay valid); requests still being answered are recorded when they finish.</summary>
        public void Reset()
        {
            lock (_gate)
            {
                Interlocked.Add(ref _started, -_requestCount);
                _requests.Clear();
                _events.Clear();
                _countsByType.Clear();
                _countsByUser.Clear();
                _requestCount = 0;
                _refusedCount = 0;
                _eventCount = 0;
                _evicted = 0;
                _version++;
            }
            Changed.Notify();
        }

        /// <summary>
        /// A page of events, newest first: those with an id below <paramref name="before"/> (null: from the newest)
        /// whose email and type contain the filters (case-insensitive), at most <paramref name="limit"/>.
        /// </summary>
        public LogPage<ReceivedEvent> QueryEvents(string? email, string? type, long? before, int limit)
        {
            lock (_gate)
            {
                return Page(_events, e => e.Id, e => Contains(e.Email, email) && Contains(e.Type, type), before, limit);
            }
        }

        /// <summary>A page of requests, newest first, only the refused ones when <paramref name="refusedOnly"/>.</summary>
        public LogPage<ReceivedRequest> QueryRequests(bool refusedOnly, long? before, int limit)
        {
            lock (_gate)
            {
                return Page(_requests, r => r.Id, r => !refusedOnly || !r.Accepted, before, limit);
            }
        }

        /// <summary>Totals, counts by type, and the <paramref name="topUsers"/> users with the most events.</summary>
        public LogSummary Summarize(int topUsers)
        {
            lock (_gate)
            {
                var byType = _countsByType.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).ToList();
                var byUser = Top(_countsByUser, topUsers);
                return new LogSummary(_eventCount, _requestCount, _refusedCount, _evicted, _countsByUser.Count, byType, byUser, Version);
            }
        }

        /// <summary>The first event with an id above <paramref name="scanned"/> that matches, or null; moves <paramref name="scanned"/> past what it read.</summary>
        public ReceivedEvent? FindEventAfter(ref long scanned, Func<ReceivedEvent, bool> match)
        {
            ReceivedEvent[] fresh;
            lock (_gate)
            {
                var start = _events.Count;
                while (start > 0 && _events[start - 1].Id > scanned) start--;
                fresh = _events.GetRange(start, _events.Count - start).ToArray();
            }
            foreach (var e in fresh)
            {
                scanned = e.Id;
                if (match(e)) return e;
            }
            return null;
        }

        /// <summary>The <paramref name="count"/> largest counts, largest first: one pass with a heap of that size, not a sort of every user.</summary>
        private static List<KeyValuePair<string, int>> Top(Dictionary<string, int> counts, int count)
        {
            var heap = new PriorityQueue<KeyValuePair<string, int>, (int Count, string Key)>(Comparer<(int Count, string Key)>.Create(
                (a, b) => a.Count != b.Count ? a.Count.CompareTo(b.Count) : string.CompareOrdinal(b.Key, a.Key)));
            foreach (var pair in counts)
            {
                if (count <= 0) break;
                if (heap.Count < count) heap.Enqueue(pair, (pair.Value, pair.Key));
                else heap.EnqueueDequeue(pair, (pair.Value, pair.Key));
            }
            var top = new List<KeyValuePair<string, int>>(heap.Count);
            while (heap.Count > 0) top.Add(heap.Dequeue());
            top.Reverse();
            return top;
        }

        private static LogPage<T> Page<T>(List<T> items, Func<T, long> id, Func<T, bool> matches, long? before, int limit)
        {
            // Ids increase with the index: find where "before" starts by binary search, then walk back.
            var end = items.Count;
            if (before is { } cursor)
            {
                int lo = 0, hi = items.Count;
                while (lo < hi)
                {
                    var mid = (lo + hi) / 2;
                    if (id(items[mid]) < cursor) lo = mid + 1; else hi = mid;
                }
                end = lo;
            }
            var page = new List<T>(Math.Min(limit, 1024));
            var matched = 0;
            long? next = null;
            for (var i = items.Count - 1; i >= 0; i--)
            {
                var item = items[i];
                if (!matches(item)) continue;
                matched++;
                if (i >= end) continue;
                if (page.Count < limit) page.Add(item);
                else if (next is null) next = id(page[page.Count - 1]);
            }
            return new LogPage<T>(page, next, matched);
        }

        private static bool Contains(string value, string? filter)
            => string.IsNullOrEmpty(filter) || value.IndexOf(filter, StringComparison.OrdinalIgnoreCase) >= 0;

        private void Evict()
        {
            var max = Math.Max(1, _options.MaxRecordedEvents);
            if (_events.Count > max)
            {
                // Let go of a tenth more than needed, so eviction (a copy of the list) happens once per tenth, not per event.
                var drop = Math.Min(_events.Count, _events.Count - max + max / 10);
                _events.RemoveRange(0, drop);
                _evicted += drop;
            }
            if (_requests.Count > max)
                _requests.RemoveRange(0, Math.Min(_requests.Count, _requests.Count - max + max / 10));
        }
    }
}
