using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace Bento.Emulator
{
    /// <summary>
    /// Which fault, if any, the next request gets (a script first, then a seeded random share), and how a fault is
    /// played on a request instead of, or before, Bento's normal answer.
    /// </summary>
    internal sealed class FaultInjector
    {
        private readonly BentoEmulatorOptions _options;
        private readonly object _gate = new object();
        private readonly Queue<Fault> _script = new Queue<Fault>();
        private Random? _random;
        private double _randomRate;
        private Fault[] _randomFaults = Array.Empty<Fault>();

        public FaultInjector(BentoEmulatorOptions options) => _options = options;

        public void Enqueue(Fault[] faults)
        {
            lock (_gate) foreach (var f in faults) _script.Enqueue(f);
        }

        public void SetRandom(double rate, int seed, Fault[] faults)
        {
            lock (_gate)
            {
                _random = new Random(seed);
                _randomRate = rate;
                _randomFaults = faults;
            }
        }

        public void Clear()
        {
            lock (_gate)
            {
                _script.Clear();
                _random = null;
                _randomRate = 0;
            }
        }

        /// <summary>The fault for the next request, if any (taken: each fault plays once).</summary>
        public Fault? Take() => Next();

        private Fault? Next()
        {
            lock (_gate)
            {
                if (_script.Count > 0) return _script.Dequeue();
                if (_random != null && _randomFaults.Length > 0 && _random.NextDouble() < _randomRate)
                    return _randomFaults[_random.Next(_randomFaults.Length)];
                return null;
            }
        }

        /// <summary>Plays <paramref name="fault"/> on <paramref name="request"/>; true when that answered it (or dropped it) for good.</summary>
        public async Task<bool> PlayAsync(Fault fault, IncomingRequest request)
        {
            var response = request.Response;
            switch (fault.Kind)
            {
                case FaultKind.Abort:
                    request.RecordRefused(0, "injected fault: connection aborted");
                    request.Context.Abort();
                    return true;
                case FaultKind.Status:
                    if (fault.RetryAfter != null) response.Headers["Retry-After"] = fault.RetryAfter;
                    await request.AnswerAsync(fault.Status, new { error = $"injected {fault.Status}" }, $"injected fault: HTTP {fault.Status}").ConfigureAwait(false);
                    return true;
                case FaultKind.Html:
                    request.RecordRefused(200, "injected fault: an HTML block page with 200");
                    response.StatusCode = 200;
                    response.ContentType = "text/html";
                    await response.WriteAsync("<!DOCTYPE html><html><body>Attention Required!</body></html>").ConfigureAwait(false);
                    return true;
                case FaultKind.Body:
                    request.RecordRefused(fault.Status, $"injected fault: HTTP {fault.Status} with a scripted body");
                    response.StatusCode = fault.Status;
                    if (fault.RetryAfter != null) response.Headers["Retry-After"] = fault.RetryAfter;
                    if (fault.ContentType != null) response.ContentType = fault.ContentType;
                    if (!string.IsNullOrEmpty(fault.Body)) await response.WriteAsync(fault.Body).ConfigureAwait(false);
                    return true;
                case FaultKind.Redirect:
                    request.RecordRefused(fault.Status, $"injected fault: redirect {fault.Status}");
                    response.StatusCode = fault.Status;
                    response.Headers["Location"] = fault.Location;
                    return true;
                case FaultKind.StallBody:
                    request.RecordRefused(200, "injected fault: the answer stalled midway");
                    response.StatusCode = 200;
                    response.ContentType = "application/json";
                    response.ContentLength = 1024;
                    await response.WriteAsync("{\"results\":").ConfigureAwait(false);
                    await response.Body.FlushAsync().ConfigureAwait(false);
                    if (await request.OffTheClockAsync(() => WaitAsync(fault.Delay, request))) request.Context.Abort();
                    return true;
                case FaultKind.Delay:
                    if (await WaitAsync(fault.Delay, request)) return false; // then Bento's normal answer
                    request.RecordRefused(0, "injected fault: delayed answer, the client went away first");
                    return true;
                default:
                    return false;
            }
        }

        /// <summary>Waits on the emulator's clock; false when the client went away first.</summary>
        private async Task<bool> WaitAsync(TimeSpan delay, IncomingRequest request)
        {
            try
            {
                await Task.Delay(delay, _options.TimeProvider, request.Context.RequestAborted).ConfigureAwait(false);
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
    }
}
