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
    /// on <see cref="Changed"/>. Bounded twice: past <see cref="BentoEmulatorOptions.MaxRecordedEvents"/> events, and past
    /// <see cref="BentoEmulatorOptions.MaxRetainedBytes"/> of bodies, events and counts (estimated from what they hold),
    /// the oldest requests with their events, and the smallest counts, are let go and counted; pages are read newest
    /// first by cursor, never whole.
    /// </summary>
    internal sealed class RequestLog
    {
        private readonly BentoEmulatorOptions _options;
        private readonly object _gate = new object();
        private readonly List<ReceivedRequest> _requests = new List<ReceivedRequest>();
        private readonly List<ReceivedEvent> _events = new List<ReceivedEvent>();
        private readonly BoundedCounts _countsByType = new BoundedCounts(StringComparer.Ordinal);
        private readonly BoundedCounts _countsByUser = new BoundedCounts(StringComparer.OrdinalIgnoreCase);
        private long _requestBytes;
        private long _eventBytes;
        private int _evictedRequests;
        private int _collect;
        private int _inFlight;
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

        public IReadOnlyDictionary<string, int> CountsByType { get { lock (_gate) return _countsByType.Snapshot(StringComparer.Ordinal); } }

        public IReadOnlyDictionary<string, int> CountsByUser { get { lock (_gate) return _countsByUser.Snapshot(StringComparer.OrdinalIgnoreCase); } }

        /// <summary>What is kept now, in bytes (estimated): request bodies and headers, events, counts.</summary>
        public long RetainedBytes { get { lock (_gate) return _requestBytes + _eventBytes + _countsByType.Bytes + _countsByUser.Bytes; } }

        /// <summary>The index in <see cref="Requests"/> of <paramref name="request"/>, or -1 once it was let go or reset.</summary>
        public int IndexOf(ReceivedRequest request)
        {
            lock (_gate)
            {
                if (_requests.Count == 0) return -1;
                var index = request.Id - _requests[0].Id;
                return index >= 0 && index < _requests.Count && ReferenceEquals(_requests[(int)index], request) ? (int)index : -1;
            }
        }

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
            Interlocked.Increment(ref _inFlight);
            Changed.Notify();
        }

        /// <summary>A request's answer was written out whole (or the request ended otherwise): what a fake clock waits for.</summary>
        public void Finished()
        {
            Interlocked.Decrement(ref _inFlight);
            Changed.Notify();
        }

        /// <summary>A request counted out by <see cref="Finished"/> goes on (after a wait on the emulator's clock).</summary>
        public void Resumed() => Interlocked.Increment(ref _inFlight);

        /// <summary>Requests started whose answer is not written out yet.</summary>
        public int InFlight => Volatile.Read(ref _inFlight);

        /// <summary>
        /// Records a request and what was answered: <paramref name="reason"/> says why it was refused (null: accepted),
        /// <paramref name="accepted"/> holds the events accepted, if any.
        /// </summary>
        public void Record(IncomingRequest request, int status, string? reason, JsonElement? accepted = null, int? firstBadEventIndex = null)
        {
            lock (_gate)
            {
                var eventCount = accepted?.GetArrayLength() ?? 0;
                // An accepted body is kept whole (its events are read from it); a refused one only its beginning.
                var body = !_options.RecordEvents ? Array.Empty<byte>()
                    : reason is null || request.Body.Length <= IncomingRequest.RefusedBodyKept ? request.Body
                    : request.Body.AsSpan(0, IncomingRequest.RefusedBodyKept).ToArray();
                var headers = new Dictionary<string, string>(request.Headers, StringComparer.OrdinalIgnoreCase);
                var received = new ReceivedRequest(++_nextRequestId, _options.TimeProvider.GetUtcNow(), request.PathAndQuery, headers,
                    body, request.BodyLength, status, eventCount, reason, firstBadEventIndex);
                _requests.Add(received);
                _requestBytes += Cost(received);
                _requestCount++;
                if (reason != null) _refusedCount++;
                if (accepted is { } events)
                {
                    var slices = _options.RecordEvents ? EventSlices.Find(body) : null;
                    var i = 0;
                    foreach (var e in events.EnumerateArray())
                    {
                        var type = _countsByType.Add(e.GetProperty("type").GetString()!);
                        var email = _countsByUser.Add(e.GetProperty("email").GetString()!);
                        var id = ++_nextEventId;
                        if (slices != null && i < slices.Count)
                        {
                            var evt = new ReceivedEvent(id, type, email, received, slices[i].Start, slices[i].Length, this);
                            _events.Add(evt);
                            _eventBytes += evt.Bytes;
                        }
                        i++;
                    }
                    _eventCount += eventCount;
                }
                Evict();
                _version++;
            }
            Changed.Notify();
            CollectAfterEviction();
        }

        /// <summary>
        /// After a tenth of the byte budget was let go, a full compacting collection hands the memory back now: left to
        /// itself the collector lets the heap grow to about twice what is kept before it looks, which is what an emulator
        /// left running on a laptop must not do. At most once per tenth of the budget, so rarely in tests.
        /// </summary>
        private void CollectAfterEviction()
        {
            if (Interlocked.Exchange(ref _collect, 0) == 0) return;
            System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        }

        /// <summary>What a request takes in memory (estimated): the object, its kept body, headers, path and reason.</summary>
        private static long Cost(ReceivedRequest r)
        {
            long bytes = 200 + r.BodyBytes.Length + 2L * r.PathAndQuery.Length + 2L * (r.Reason?.Length ?? 0);
            foreach (var h in r.Headers) bytes += 80 + 2L * (h.Key.Length + h.Value.Length);
            return bytes;
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
                _requestBytes = 0;
                _eventBytes = 0;
                _evictedRequests = 0;
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

        /// <summary>The event with this id, while it is kept.</summary>
        public ReceivedEvent? FindEvent(long id)
        {
            lock (_gate)
            {
                int lo = 0, hi = _events.Count - 1;
                while (lo <= hi)
                {
                    var mid = (lo + hi) / 2;
                    var at = _events[mid].Id;
                    if (at == id) return _events[mid];
                    if (at < id) lo = mid + 1; else hi = mid - 1;
                }
                return null;
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

        /// <summary>Totals, the <paramref name="topTypes"/> types and the <paramref name="topUsers"/> users with the most events.</summary>
        public LogSummary Summarize(int topTypes, int topUsers)
        {
            lock (_gate)
            {
                var byType = Top(_countsByType.Pairs, topTypes);
                var byUser = Top(_countsByUser.Pairs, topUsers);
                return new LogSummary(_eventCount, _requestCount, _refusedCount, _evicted, _countsByUser.Count, byType, byUser, Version)
                {
                    Types = _countsByType.Count,
                    EvictedRequests = _evictedRequests,
                    TypesLetGo = _countsByType.LetGo,
                    UsersLetGo = _countsByUser.LetGo,
                    RetainedBytes = _requestBytes + _eventBytes + _countsByType.Bytes + _countsByUser.Bytes,
                };
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
        private static List<KeyValuePair<string, int>> Top(IEnumerable<KeyValuePair<string, int>> counts, int count)
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
                DropEvents(Math.Min(_events.Count, _events.Count - max + max / 10));
                Volatile.Write(ref _collect, 1);
            }
            if (_requests.Count > max) DropRequests(Math.Min(_requests.Count, _requests.Count - max + max / 10));

            // The byte budget: counts take at most an eighth of it (the smallest let go first), the rest goes to the
            // newest requests and their events; past it, the oldest go, down to nine tenths (once per tenth, not per request).
            var budget = _options.MaxRetainedBytes;
            _countsByType.TrimTo(budget / 16);
            _countsByUser.TrimTo(budget / 16);
            var countsBytes = _countsByType.Bytes + _countsByUser.Bytes;
            if (_requestBytes + _eventBytes + countsBytes <= budget) return;
            var target = budget - budget / 10 - countsBytes;
            var drop = 0;
            var freed = 0L;
            var eventIndex = 0;
            while (drop < _requests.Count && _requestBytes + _eventBytes - freed > target)
            {
                var request = _requests[drop++];
                freed += Cost(request);
                while (eventIndex < _events.Count && _events[eventIndex].Request.Id <= request.Id) freed += _events[eventIndex++].Bytes;
            }
            DropRequests(drop);
            Volatile.Write(ref _collect, 1);
        }

        /// <summary>Lets go of the <paramref name="count"/> oldest events.</summary>
        private void DropEvents(int count)
        {
            for (var i = 0; i < count; i++) _eventBytes -= _events[i].Bytes;
            _events.RemoveRange(0, count);
            _evicted += count;
        }

        /// <summary>Lets go of the <paramref name="count"/> oldest requests, and of the events they carried (which live in their bodies).</summary>
        private void DropRequests(int count)
        {
            if (count <= 0) return;
            var lastId = _requests[count - 1].Id;
            for (var i = 0; i < count; i++) _requestBytes -= Cost(_requests[i]);
            _requests.RemoveRange(0, count);
            _evictedRequests += count;
            var events = 0;
            while (events < _events.Count && _events[events].Request.Id <= lastId) events++;
            if (events > 0) DropEvents(events);
        }
    }
}
