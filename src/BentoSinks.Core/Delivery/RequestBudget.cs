using System;
using System.Collections.Generic;

namespace BentoSinks.Delivery
{
    /// <summary>
    /// The client-side request budget of one Bento account in this process: requests are spaced at least
    /// <c>60 s / rate</c> apart, the rate never above <c>MaxRequestsPerMinute</c>. A 429 halves the rate this process
    /// actually spent over the last minute (not the configured ceiling) and blocks until its <c>Retry-After</c>; the rate
    /// recovers slowly and with jitter. So a fleet sharing one account settles under the account's limit with fuller
    /// batches, instead of probing it every minute.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Pipelines of one process that send to the same account (endpoint host and site UUID) share one budget and one
    /// 429 state (<see cref="Acquire"/>): a Serilog sink, a trace exporter and a log exporter together spend
    /// <c>MaxRequestsPerMinute</c>, not three times it. Thread-safe; <see cref="TryTake(bool, bool)"/> checks and spends
    /// atomically.
    /// </para>
    /// <para>
    /// <b>The math.</b> Bento allows the account L = 100 requests in any 60 s, shared by N instances that know nothing of
    /// each other. Instance i sends r_i requests a minute: with batches that do not fill, r_i = 60 s / <c>Period</c> (6 at
    /// the default 10 s) whatever its load; with batches that fill, r_i = its events a minute / 1,000. The account
    /// answers 429 once Σ r_i &gt; L. The only signal an instance gets is its own 429s, and the only lever it has is its
    /// own spacing; so after a 429 it must lower what it <em>sends</em>, r_i, not its ceiling (the old rule halved a
    /// ceiling of 20 that an instance sending 6 a minute never reached: nothing changed, and 20 quiet instances asking
    /// 120 a minute were refused a sixth of the time forever). Hence:
    /// </para>
    /// <list type="bullet">
    /// <item><b>Decrease</b>: on a 429, rate := max(<see cref="MinRatePerMinute"/>, min(rate, observed) / 2), where
    /// observed is the requests spent over the last minute (extrapolated while the budget is younger than that). The
    /// spacing doubles; the pipeline keeps filling the batch while it waits, so requests get fuller and fewer, and the
    /// events still all go. If every instance halves, Σ r_i halves: a fleet at k × L needs about log2(k) + 1 rounds. A
    /// second decrease needs a request spent after the first one (429s of requests already on the wire are one signal,
    /// as in TCP's one decrease per round trip).</item>
    /// <item><b>Recovery only where it buys something</b>: a higher rate helps an instance only when its batches are
    /// full and waiting on the budget (its load needs more requests); for one whose batches leave half empty, a higher
    /// rate only means more, smaller requests from the same events. So a success of a request that waited on the budget
    /// with a full batch raises the rate by <see cref="Step"/> × jitter (0.5–1.5) requests a minute, k times that for
    /// the k-th such request in a row (at most 10: a backlog recovers in minutes, a load that just fills its batches
    /// moves by single steps), stopping by itself once the instance sends full batches as fast as they
    /// fill. Symmetrically, while the account is contended (a 429 within <see cref="QuietInterval"/>), a request that
    /// waited with a partial batch gives as much back (k steps for the k-th in a row), down to a request a minute: rate that only makes smaller requests goes back to the fleet. The rate then tracks the load: it hovers
    /// where batches are just full (at 60 % of the account's events, 900–1,000 events a request), or at a request a
    /// minute (<see cref="MinRatePerMinute"/>, the floor) for an instance whose load fills no batch in a minute. The
    /// jitter (its randomness injectable for tests) keeps instances refused together from moving together.</item>
    /// <item><b>Fewer, fuller partial batches</b> (<see cref="PartialFillTime"/>, <see cref="GentleSpacingAt"/>): rate alone
    /// does not bind a quiet instance (it sends 60 s / <c>Period</c>, far under its rate). So while contended (a 429 within a
    /// jittered quiet interval) a partial batch waits <see cref="ContendedFillTime"/> (60 s) to fill: after ONE 429 a quiet
    /// instance sends at most a request a minute. A new budget is <em>gentle</em> for 15–25 min (45–75 min after a 429): a
    /// pipeline's partial batches go at most every <see cref="GentleSpacing"/> (40 s; the first at <c>Period</c>), so a
    /// fleet that starts together asks 1.5 a minute per quiet instance instead of 6. The phase ends in a slow climb
    /// (<see cref="RampPerHour"/>, jittered), not a step: 50 quiet instances that each ask 1.5 a minute reach the account's
    /// 100 about half an hour later, a few at a time, and each refused one goes back to a minute's fill and a new gentle
    /// phase. Full batches, flushes, splits and retries are never held. The cost: a lone quiet app's partial batches go
    /// every 40 s in its first 15–25 minutes, reaching <c>Period</c> hours later.</item>
    /// <item><b>When the fleet stays under the limit</b>: a fleet whose load fills batches settles where its batches are
    /// just full (Σ r_i ≈ its events / 1,000, under L up to about 90 % of the account's events). Quiet instances: 1.5 a
    /// minute each while gentle, 1 while contended, climbing slowly toward 60 s / <c>Period</c> otherwise. At most
    /// L / <see cref="MinRatePerMinute"/> = 100 instances fit at all.</item>
    /// <item><b>One busy process keeps the whole account</b>: with no 429 the rate stays at <c>MaxRequestsPerMinute</c>,
    /// and a flush or disposal (<c>honourSpacing: false</c>) skips the spacing as before, so 60 full batches left at
    /// disposal go at once.</item>
    /// <item><b>A joint shutdown</b> (a deploy stops the whole fleet): each instance's last request goes at once; those
    /// the full minute refuses wait the <c>Retry-After</c> plus a random part of one spacing (at most
    /// <see cref="BlockSpread"/>), so the refused come back one after another as the minute frees slots, instead of all
    /// together into the same full window again and again until the shutdown time runs out. While the account is
    /// contended (a 429 within the last minute) a flush or disposal sends at most one request a second
    /// (<see cref="ContendedFlushSpacing"/>), so pipelines of one process do not burst into it either. <see cref="ShutdownAllowance"/>
    /// says how many requests that allows before a deadline, so disposal can stop at once when it can send nothing more
    /// (the rest counted <c>shutdown</c>, or left on disk in durable mode) instead of waiting out its timeout.</item>
    /// </list>
    /// </remarks>
    internal sealed partial class RequestBudget
    {
        /// <summary>The window of the observed rate, and how long after a 429 the account counts as contended.</summary>
        internal static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

        /// <summary>
        /// The least a 429 lowers the rate to (a request a minute): with the contended fill time, the delay bound of a crowded
        /// account. At most L / 1 = 100 instances fit under it; a larger fleet must raise <c>Period</c> (see docs/fleet.md).
        /// </summary>
        internal const double MinRatePerMinute = 1;

        /// <summary>
        /// Requests a minute added (× jitter 0.5–1.5) by a success of a request that waited with a full batch, and taken
        /// away, while the account is contended, by one that waited with a partial batch: as an instance at rate r sends r
        /// requests a minute, about 10 % of its rate a minute either way, whatever r.
        /// </summary>
        internal const double Step = 0.1;

        /// <summary>
        /// How long after a 429 the account counts as contended (partial batches give rate back; × jitter 0.75–1.25 for the
        /// contended fill time), and the unit of the gentle phases.
        /// </summary>
        internal static readonly TimeSpan QuietInterval = TimeSpan.FromMinutes(10);

        /// <summary>While the account is contended, a flush or disposal sends at most one request a second.</summary>
        internal static readonly TimeSpan ContendedFlushSpacing = TimeSpan.FromSeconds(1);

        /// <summary>The most a 429's block is stretched at random (at most one spacing at the new rate), so that instances refused together do not retry together.</summary>
        internal static readonly TimeSpan BlockSpread = TimeSpan.FromSeconds(15);

        /// <summary>With no ceiling configured, a rate recovered past this many requests a minute is lifted again.</summary>
        private const double UnlimitedAbove = 600;

        /// <summary>The shortest span the observed rate is extrapolated from (a budget younger than a minute).</summary>
        private static readonly TimeSpan MinObservedSpan = TimeSpan.FromSeconds(10);


        private readonly object _gate = new object();
        private readonly TimeProvider _time;
        private readonly Random _random;
        private readonly Queue<long> _recentRequests = new Queue<long>();
        private double _maxPerMinute;
        private double _ratePerMinute;
        private long _firstRequest = long.MinValue;
        private long _lastRequest = long.MinValue;
        private long _lastPartial = long.MinValue;
        private long _blockedUntil = long.MinValue;
        private long _hardBlockedUntil = long.MinValue;
        // At disposal: the block redrawn within the time left, for disposing callers only (a sharer that is not keeps the spread).
        private long _fittedUntil = long.MinValue;
        private double _spacingJitter = 1;
        private long _lastDecrease = long.MinValue;
        private long _lastThrottled = long.MinValue;
        private bool _heldFull;
        private bool _heldPartial;
        private bool _spentHeldFull;
        private int _fullStreak;
        private int _partialStreak;
        private long _calmFrom;
        private TimeSpan _calmInterval;
        private double _rampJitter;

        public RequestBudget(TimeProvider time, int maxRequestsPerMinute)
            : this(time, maxRequestsPerMinute, null)
        {
        }

        /// <param name="time">The clock.</param>
        /// <param name="maxRequestsPerMinute">The ceiling; 0 or less: none.</param>
        /// <param name="random">The jitter's randomness (seeded in tests); a new <see cref="Random"/> when null.</param>
        public RequestBudget(TimeProvider time, int maxRequestsPerMinute, Random? random)
        {
            _time = time;
            _random = random ?? new Random();
            _maxPerMinute = maxRequestsPerMinute <= 0 ? double.PositiveInfinity : maxRequestsPerMinute;
            _ratePerMinute = _maxPerMinute;
            _calmFrom = time.GetTimestamp();
            _calmInterval = DrawQuietInterval();
            _rampJitter = 0.5 + _random.NextDouble();
        }

        /// <summary>How many live pipelines share this budget (1 when it is not shared).</summary>
        internal int Sharers { get; private set; } = 1;

        /// <summary>The current allowed rate, in requests a minute (infinite when the budget is lifted and no 429 came).</summary>
        public double CurrentRatePerMinute
        {
            get
            {
                lock (_gate)
                {
                    return _ratePerMinute;
                }
            }
        }

        /// <summary>Requests spent over the last minute (by every sharer), extrapolated while the budget is younger than that.</summary>
        internal double ObservedRatePerMinute
        {
            get { lock (_gate) return Observed(_time.GetTimestamp()); }
        }

        /// <summary>Whether a 429 came within the last <see cref="Window"/>: a flush or disposal is paced too.</summary>
        internal bool Contended
        {
            get { lock (_gate) return IsContended(_time.GetTimestamp()); }
        }

        /// <summary>
        /// Spends one request if it may go now and returns zero; otherwise returns how long to wait. With
        /// <paramref name="honourSpacing"/> false (a flush or disposal is waiting) only a 429's block counts, and, while
        /// the account is contended, half the spacing.
        /// </summary>
        public TimeSpan TryTake(bool honourSpacing) => TryTake(honourSpacing, full: false);

        /// <summary>
        /// As <see cref="TryTake(bool)"/>; <paramref name="full"/>: the batch waiting is full (by count or bytes), so a wait
        /// here means the load needs more requests than the rate allows, and the request's success raises the rate a
        /// little (see the remarks).
        /// </summary>
        public TimeSpan TryTake(bool honourSpacing, bool full) => TryTake(honourSpacing, full, partialBatch: false);

        /// <summary>
        /// As <see cref="TryTake(bool, bool)"/>; <paramref name="partialBatch"/>: the request is a partial batch that went
        /// at its fill time (not a split or a retry), so a gentle budget spaces it at least <see cref="GentleSpacing"/>.
        /// </summary>
        public TimeSpan TryTake(bool honourSpacing, bool full, bool partialBatch) => TryTake(honourSpacing, full, partialBatch, TimeSpan.MaxValue);

        /// <summary>
        /// As <see cref="TryTake(bool, bool, bool)"/>; <paramref name="timeLeft"/>: disposal must end within it. A 429's random
        /// spread (not its <c>Retry-After</c>) that would end past it is drawn again within the time left, so that the
        /// instances of a joint shutdown spread their retries over the time they have instead of giving up; for disposing
        /// callers only (<see cref="TimeSpan.MaxValue"/>: not disposing), the budget's other sharers keep the whole spread.
        /// </summary>
        public TimeSpan TryTake(bool honourSpacing, bool full, bool partialBatch, TimeSpan timeLeft)
        {
            lock (_gate)
            {
                var now = _time.GetTimestamp();
                var disposing = !honourSpacing && timeLeft != TimeSpan.MaxValue;
                if (disposing) FitSpreadBefore(now, timeLeft);
                var wait = Wait(honourSpacing, now, disposing);
                // Per pipeline: the process's pipelines sharing the budget each keep their own partial batch spacing. Shared, it
                // runs from the last partial batch, not the last request: a busy sharer's full batches would hold a quiet one's forever.
                var since = Sharers > 1 ? _lastPartial : _lastRequest;
                if (honourSpacing && partialBatch && !full && since != long.MinValue)
                {
                    var gentle = TimeSpan.FromTicks(GentleSpacingAt(now).Ticks / Math.Max(1, Sharers)) - _time.GetElapsedTime(since, now);
                    if (gentle > wait) wait = gentle;
                }
                if (wait <= TimeSpan.Zero)
                {
                    Record(now);
                    if (partialBatch && !full) _lastPartial = now;
                    _spentHeldFull = _heldFull;
                    if (_heldPartial && !_heldFull) GiveBack(now);
                    else _partialStreak = 0;
                    if (!_heldFull) _fullStreak = 0;
                    _heldFull = false;
                    _heldPartial = false;
                }
                else if (honourSpacing)
                {
                    if (full) _heldFull = true;
                    else _heldPartial = true;
                }
                return wait;
            }
        }

        /// <summary>A request was answered 2xx: if it had waited on the budget with a full batch, the rate rises a little.</summary>
        public void OnSuccess()
        {
            lock (_gate)
            {
                var now = _time.GetTimestamp();
                if (!_spentHeldFull) return;
                _spentHeldFull = false;
                if (_ratePerMinute >= _maxPerMinute) return;
                // A backlog (full batches waiting one after another) recovers faster: the k-th in a row adds k steps (at most 10).
                if (_fullStreak < 10) _fullStreak++;
                _ratePerMinute = Math.Min(_maxPerMinute, _ratePerMinute + _fullStreak * Step * (0.5 + _random.NextDouble()));
                LiftIfRecovered();
            }
        }

        /// <summary>A 429: slow down, and wait at least <paramref name="retryAfter"/> (clamped) before the next request.</summary>
        public void OnThrottled(TimeSpan retryAfter)
        {
            lock (_gate)
            {
                var now = _time.GetTimestamp();
                _lastThrottled = now;
                _calmFrom = now;
                _calmInterval = DrawQuietInterval();
                _rampJitter = 0.5 + _random.NextDouble();
                _spentHeldFull = false;
                _fullStreak = 0;
                // 429s of requests spent before the last decrease (several sharers refused at once, a request already on
                // the wire) are one signal: the rate is halved once, not once per refused request.
                if (_lastDecrease == long.MinValue || _lastRequest > _lastDecrease)
                {
                    var observed = Observed(now);
                    var spent = double.IsPositiveInfinity(_ratePerMinute) ? observed : Math.Min(_ratePerMinute, observed);
                    _ratePerMinute = Math.Min(_maxPerMinute, Math.Max(MinRatePerMinute, spent / 2));
                    _lastDecrease = now;
                }
                if (retryAfter > RetrySchedule.MaxRetryAfter) retryAfter = RetrySchedule.MaxRetryAfter;
                if (retryAfter > TimeSpan.Zero)
                {
                    // Retry-After says when the first slot frees, for every instance refused now: each waits a random part
                    // of one spacing (at most BlockSpread) more, so that they come back one after another, not together.
                    var spread = double.IsPositiveInfinity(_ratePerMinute) ? TimeSpan.Zero : TimeSpan.FromMinutes(1.0 / _ratePerMinute);
                    if (spread > BlockSpread) spread = BlockSpread;
                    var block = retryAfter + TimeSpan.FromTicks((long)(spread.Ticks * _random.NextDouble()));
                    var until = now + (long)(block.TotalSeconds * _time.TimestampFrequency);
                    if (until > _blockedUntil) _blockedUntil = until;
                    _fittedUntil = long.MinValue;
                    var hard = now + (long)(retryAfter.TotalSeconds * _time.TimestampFrequency);
                    if (hard > _hardBlockedUntil) _hardBlockedUntil = hard;
                }
            }
        }

        private void Record(long now)
        {
            if (_firstRequest == long.MinValue) _firstRequest = now;
            _lastRequest = now;
            _spacingJitter = 0.75 + 0.5 * _random.NextDouble();
            _recentRequests.Enqueue(now);
            Observed(now);
        }

        /// <summary>Requests spent in the last minute, as a rate a minute (extrapolated from at least 10 s when younger).</summary>
        private double Observed(long now)
        {
            var window = (long)(_time.TimestampFrequency * Window.TotalSeconds);
            while (_recentRequests.Count > 0 && now - _recentRequests.Peek() >= window) _recentRequests.Dequeue();
            if (_recentRequests.Count == 0) return 0;
            var age = _time.GetElapsedTime(_firstRequest, now);
            if (age >= Window) return _recentRequests.Count;
            if (age < MinObservedSpan) age = MinObservedSpan;
            return _recentRequests.Count * Window.TotalSeconds / age.TotalSeconds;
        }

        /// <summary>
        /// A partial batch waited on the spacing while the account is contended (a 429 within a quiet interval): the rate it
        /// does not fill is given back to the fleet, down to a request a minute.
        /// </summary>
        private void GiveBack(long now)
        {
            if (_lastThrottled == long.MinValue || _time.GetElapsedTime(_lastThrottled, now) >= QuietInterval) return;
            if (_ratePerMinute <= MinRatePerMinute) return;
            if (_partialStreak < 10) _partialStreak++;
            _ratePerMinute = Math.Max(MinRatePerMinute, _ratePerMinute - _partialStreak * Step * (0.5 + _random.NextDouble()));
        }

        private void LiftIfRecovered()
        {
            if (double.IsPositiveInfinity(_maxPerMinute) && _ratePerMinute >= UnlimitedAbove) _ratePerMinute = double.PositiveInfinity;
        }

        private TimeSpan DrawQuietInterval() => TimeSpan.FromTicks((long)(QuietInterval.Ticks * (0.75 + 0.5 * _random.NextDouble())));

        private bool IsContended(long now) => _lastThrottled != long.MinValue && _time.GetElapsedTime(_lastThrottled, now) < Window;

        /// <summary>The spacing of a flush or disposal: none, or <see cref="ContendedFlushSpacing"/> while the account is contended.</summary>
        private TimeSpan UrgentSpacing(long now) => IsContended(now) ? ContendedFlushSpacing : TimeSpan.Zero;

        private TimeSpan Wait(bool honourSpacing, long now, bool disposing = false)
        {
            var wait = TimeSpan.Zero;
            var blockedUntil = BlockedUntil(disposing);
            if (blockedUntil != long.MinValue)
            {
                var blocked = -_time.GetElapsedTime(blockedUntil, now);
                if (blocked > wait) wait = blocked;
            }
            if (_lastRequest != long.MinValue)
            {
                var spacing = honourSpacing
                    ? double.IsPositiveInfinity(_ratePerMinute) ? TimeSpan.Zero : TimeSpan.FromMinutes(1.0 / _ratePerMinute)
                    : UrgentSpacing(now);
                var sinceLast = _time.GetElapsedTime(_lastRequest, now);
                if (spacing - sinceLast > wait) wait = spacing - sinceLast;
            }
            return wait;
        }
    }
}
