using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace Bento.Emulator
{
    /// <summary>
    /// Bento's batch events API on loopback, on a real Kestrel server: the same credentials, User-Agent, site UUID and
    /// body rules as Bento, an optional rate limit, fault injection, and a thread-safe record of what it received.
    /// </summary>
    /// <remarks>
    /// The parts, one job each: <see cref="EmulatorHost"/> (Kestrel and the routes), <see cref="BatchEventsEndpoint"/>
    /// (Bento's contract), <see cref="FaultInjector"/> (which fault, and playing it), <see cref="RequestLog"/> (what was
    /// received), <see cref="ChangeSignal"/> (the one signal every wait below is built on) and
    /// <see cref="PeerEndpoints"/> (the benchmarks' Seq and OTLP routes); for people, <see cref="EmulatorPage"/> (the live
    /// page at <c>/</c>) and <see cref="InspectionEndpoints"/> (the JSON inspection API under <c>/_emulator/</c>).
    /// </remarks>
    public sealed class BentoEmulator : IAsyncDisposable
    {
        private static readonly TimeSpan DefaultStartedTimeout = TimeSpan.FromSeconds(20);
        private static readonly TimeSpan DefaultWaitTimeout = TimeSpan.FromSeconds(30);
        private static readonly TimeSpan MaxAnswerWait = TimeSpan.FromMilliseconds(200);
        private static readonly TimeSpan ClientPoll = TimeSpan.FromMilliseconds(2);

        private readonly BentoEmulatorOptions _options;
        private readonly ChangeSignal _changed = new ChangeSignal();
        private readonly RequestLog _log;
        private readonly FaultInjector _faults;
        private readonly BatchEventsEndpoint _bento;
        private readonly PeerEndpoints _peers;
        private readonly InspectionEndpoints _inspection;
        private EmulatorHost _host = null!;

        private BentoEmulator(BentoEmulatorOptions options)
        {
            _options = options;
            _log = new RequestLog(options, _changed);
            _faults = new FaultInjector(options);
            _bento = new BatchEventsEndpoint(options, _log, _faults);
            _peers = new PeerEndpoints(_changed);
            _inspection = new InspectionEndpoints(_log, options);
        }

        /// <summary>The server's root, e.g. <c>http://127.0.0.1:54321/</c>.</summary>
        public Uri BaseAddress => _host.BaseAddress;

        /// <summary>The live web page of what the emulator received and refused: <see cref="BaseAddress"/> itself.</summary>
        public Uri PageAddress => BaseAddress;

        /// <summary>The API base to configure a client with: <c>{BaseAddress}api/v1</c>.</summary>
        public Uri ApiBase => new Uri(BaseAddress, "api/v1");

        /// <summary>The options the emulator runs with.</summary>
        public BentoEmulatorOptions Options => _options;

        /// <summary>A snapshot of every request received, in arrival order.</summary>
        public IReadOnlyList<ReceivedRequest> Requests => _log.Requests;

        /// <summary>A snapshot of every event accepted, in arrival order (empty when <see cref="BentoEmulatorOptions.RecordEvents"/> is off).</summary>
        public IReadOnlyList<ReceivedEvent> Events => _log.Events;

        /// <summary>A snapshot of the requests whose events were not accepted (refused by Bento's rules, or given an injected fault), in arrival order.</summary>
        public IReadOnlyList<ReceivedRequest> RefusedRequests => _log.Requests.Where(r => !r.Accepted).ToList();

        /// <summary>The accepted events sent for <paramref name="email"/> (compared without case), in arrival order.</summary>
        public IReadOnlyList<ReceivedEvent> EventsFor(string email)
            => _log.Events.Where(e => string.Equals(e.Email, email, StringComparison.OrdinalIgnoreCase)).ToList();

        /// <summary>The accepted events of type <paramref name="type"/>, in arrival order.</summary>
        public IReadOnlyList<ReceivedEvent> EventsOfType(string type) => _log.Events.Where(e => e.Type == type).ToList();

        /// <summary>How many requests have reached the handler, including those still being answered.</summary>
        public int RequestsStarted => _log.RequestsStarted;

        /// <summary>How many events were accepted.</summary>
        public int EventCount => _log.EventCount;

        /// <summary>Accepted events counted by type.</summary>
        public IReadOnlyDictionary<string, int> CountsByType => _log.CountsByType;

        /// <summary>Accepted events counted by email (compared without case).</summary>
        public IReadOnlyDictionary<string, int> CountsByUser => _log.CountsByUser;

        /// <summary>Events let go to stay within <see cref="BentoEmulatorOptions.MaxRecordedEvents"/> since the start or the last reset.</summary>
        public int EvictedEvents => _log.Evicted;

        /// <summary>When set, an event for which it returns true is refused: the request gets <see cref="PoisonStatus"/> (400 by default) naming its index.</summary>
        public Func<JsonElement, bool>? Poison { get => _bento.Poison; set => _bento.Poison = value; }

        /// <summary>
        /// The status answered for a request holding an event <see cref="Poison"/> refuses: 400 by default, or e.g. 422
        /// (Bento's "failed a business rule"). The body names the refused event's index either way.
        /// </summary>
        public int PoisonStatus { get => _bento.PoisonStatus; set => _bento.PoisonStatus = value; }

        /// <summary>Starts an emulator; with default options it listens on 127.0.0.1 on a free port.</summary>
        public static async Task<BentoEmulator> StartAsync(BentoEmulatorOptions? options = null, CancellationToken cancellationToken = default)
        {
            options ??= new BentoEmulatorOptions();
            options.Validate();
            var emulator = new BentoEmulator(options);
            emulator._host = await EmulatorHost.StartAsync(emulator._options, emulator._bento, emulator._peers, emulator._inspection, emulator.Stats, cancellationToken).ConfigureAwait(false);
            return emulator;
        }

        /// <summary>Queues faults for the next requests, one per request, in order.</summary>
        public void EnqueueFaults(params Fault[] faults) => _faults.Enqueue(faults);

        /// <summary>Injects one of <paramref name="faults"/> (chosen by a seeded generator) into a <paramref name="rate"/> share of requests.</summary>
        public void SetRandomFaults(double rate, int seed, params Fault[] faults) => _faults.SetRandom(rate, seed, faults);

        /// <summary>Stops injecting faults (scripted and random).</summary>
        public void ClearFaults() => _faults.Clear();

        /// <summary>How many requests have been answered (or aborted) so far.</summary>
        public int RequestCount => _log.RequestCount;

        /// <summary>
        /// Drives a fake clock shared with a client under test: until <paramref name="done"/> holds, lets the request
        /// being answered finish first (up to 200 ms of real time, awaiting the emulator's own signal, and while
        /// <paramref name="clientBusy"/> says the client still has a request on its way), then calls
        /// <paramref name="advance"/>. Moving the clock during an answer would turn it into a client timeout.
        /// Returns whether <paramref name="done"/> was reached within <paramref name="maxSteps"/> steps.
        /// </summary>
        public async Task<bool> AdvanceClockUntilAsync(Func<bool> done, Action advance, int maxSteps = 20_000, Func<bool>? clientBusy = null)
        {
            bool Quiet() => _log.InFlight <= 0 && clientBusy?.Invoke() != true;
            for (var step = 0; step < maxSteps; step++)
            {
                if (done()) return true;
                // Always give the client a moment to act on the last answer before time moves.
                await Task.Delay(1).ConfigureAwait(false);
                // The client's side is not signalled: poll it too.
                await _changed.WaitUntilAsync(Quiet, MaxAnswerWait, clientBusy is null ? null : ClientPoll).ConfigureAwait(false);
                if (done()) return true;
                advance();
            }
            return done();
        }

        /// <summary>
        /// Forgets every request and event recorded so far (what <c>POST /_emulator/reset</c> and the page's Clear button
        /// do); ids go on increasing. Requests still being answered are recorded when they finish.
        /// </summary>
        public void Reset() => _log.Reset();

        /// <summary>
        /// Waits for an accepted event for which <paramref name="match"/> holds (already received, or arriving later) and
        /// returns it; woken by the emulator's change signal, never by sleeping. Throws <see cref="TimeoutException"/> past
        /// <paramref name="timeout"/> (real time; 30 s by default).
        /// </summary>
        public async Task<ReceivedEvent> WaitForEventAsync(Func<ReceivedEvent, bool> match, TimeSpan? timeout = null)
        {
            if (match is null) throw new ArgumentNullException(nameof(match));
            ReceivedEvent? found = null;
            long scanned = 0;
            var wait = timeout ?? DefaultWaitTimeout;
            if (!await _changed.WaitUntilAsync(() => (found = _log.FindEventAfter(ref scanned, match)) != null, wait).ConfigureAwait(false))
                throw new TimeoutException($"No matching event arrived within {wait} ({EventCount} events received).");
            return found!;
        }

        /// <summary>
        /// Waits for a request whose events were not accepted (refused, or given an injected fault) for which
        /// <paramref name="match"/> holds (any, when null), and returns it; woken by the change signal. Throws
        /// <see cref="TimeoutException"/> past <paramref name="timeout"/> (real time; 30 s by default).
        /// </summary>
        public async Task<ReceivedRequest> WaitForRefusedRequestAsync(Func<ReceivedRequest, bool>? match = null, TimeSpan? timeout = null)
        {
            ReceivedRequest? found = null;
            var wait = timeout ?? DefaultWaitTimeout;
            bool Found() => (found = _log.QueryRequests(refusedOnly: true, before: null, limit: int.MaxValue).Items.LastOrDefault(r => match?.Invoke(r) != false)) != null;
            if (!await _changed.WaitUntilAsync(Found, wait).ConfigureAwait(false))
                throw new TimeoutException($"No matching refused request arrived within {wait} ({RequestCount} requests received).");
            return found!;
        }

        /// <summary>Waits until at least <paramref name="count"/> events were accepted; throws <see cref="TimeoutException"/> past <paramref name="timeout"/> (real time).</summary>
        public async Task WaitForEventsAsync(int count, TimeSpan timeout)
        {
            if (!await _changed.WaitUntilAsync(() => EventCount >= count, timeout).ConfigureAwait(false))
                throw new TimeoutException($"The emulator received {EventCount} of {count} events within {timeout}.");
        }

        /// <summary>Waits until at least <paramref name="count"/> requests have reached the handler, answered or not (real time, 20 s at most).</summary>
        public async Task WaitForRequestsStartedAsync(int count, TimeSpan? timeout = null)
        {
            if (!await _changed.WaitUntilAsync(() => RequestsStarted >= count, timeout ?? DefaultStartedTimeout).ConfigureAwait(false))
                throw new TimeoutException($"{RequestsStarted} of {count} requests reached the emulator in time.");
        }

        /// <summary>Waits until at least <paramref name="count"/> requests arrived (real time).</summary>
        public async Task WaitForRequestsAsync(int count, TimeSpan timeout)
        {
            if (!await _changed.WaitUntilAsync(() => RequestCount >= count, timeout).ConfigureAwait(false))
                throw new TimeoutException($"The emulator received {RequestCount} of {count} requests within {timeout}.");
        }

        /// <summary>How many <c>/_emulator/stream</c> responses are open (the page's live connections; <c>open_streams</c> in the summary).</summary>
        internal int OpenStreams => _inspection.OpenStreams;

        /// <summary>For the tests of the page's polling: while set, <c>/_emulator/stream</c> answers 503.</summary>
        internal bool RefuseStreams { get => _inspection.RefuseStreams; set => _inspection.RefuseStreams = value; }

        /// <summary>Events received on the Seq ingestion routes (CLEF, one JSON object a line).</summary>
        public int SeqEventCount => _peers.SeqEventCount;

        /// <summary>Requests received on the OTLP/HTTP routes (<c>/v1/traces</c>, <c>/v1/logs</c>).</summary>
        public int OtlpRequestCount => _peers.OtlpRequestCount;

        /// <summary>Bytes received on the OTLP/HTTP routes.</summary>
        public long OtlpBytes => _peers.OtlpBytes;

        /// <summary>Stops the server.</summary>
        public ValueTask DisposeAsync() => _host.DisposeAsync();

        /// <summary>Whether the emulator has been stopped (disposed).</summary>
        internal bool Stopped => _host.Stopping;

        // What GET /_emulator/stats answers, for a client in another process.
        private object Stats() => new
        {
            bento_events = EventCount,
            bento_requests = RequestCount,
            seq_events = SeqEventCount,
            otlp_requests = OtlpRequestCount,
        };
    }
}
