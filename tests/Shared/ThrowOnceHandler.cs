using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace BentoSinks.Testing
{
    /// <summary>A real handler to the emulator (<see cref="SocketsHttpHandler"/> behind a <see cref="DelegatingHandler"/>) whose first call throws.</summary>
    internal sealed class ThrowOnceHandler : DelegatingHandler
    {
        private int _calls;
        public ThrowOnceHandler() : base(new SocketsHttpHandler()) { }
        public int Calls => Volatile.Read(ref _calls);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _calls) == 1) throw new InvalidOperationException("a custom handler failed");
            return base.SendAsync(request, cancellationToken);
        }
    }
}
