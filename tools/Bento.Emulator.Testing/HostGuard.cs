using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace Bento.Emulator
{
    /// <summary>
    /// The browser's side of safety, in front of every route: a <c>Host</c> header must name loopback, the host the
    /// emulator listens on, or one configured in <see cref="BentoEmulatorOptions.AllowedHosts"/> (else 400: DNS rebinding
    /// cannot make another name read the inspection API); and a request that changes state (any method but GET, HEAD and
    /// OPTIONS, and any request to Bento's routes) carrying an <c>Origin</c> header must come from the emulator's own origin,
    /// and none may say <c>Sec-Fetch-Site: cross-site</c> or <c>same-site</c> (else 403: a page elsewhere can neither reset
    /// the log nor fill it).
    /// </summary>
    internal sealed class HostGuard
    {
        private readonly HashSet<string> _hosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "localhost", "127.0.0.1", "[::1]", "::1" };

        public HostGuard(BentoEmulatorOptions options)
        {
            var listen = new Uri(options.Url).Host;
            // A wildcard bind names no host: the names that may reach it must be configured.
            if (listen != "0.0.0.0" && listen != "[::]" && listen != "*" && listen != "+") _hosts.Add(listen);
            foreach (var host in options.AllowedHosts) _hosts.Add(host.Trim());
        }

        public Task InvokeAsync(HttpContext context, RequestDelegate next)
        {
            var request = context.Request;
            var host = request.Host.Host;
            if (string.IsNullOrEmpty(host) || !_hosts.Contains(host))
                return RefuseAsync(context, 400, "this Host name is not one the emulator answers (loopback names, or --allowed-host)");
            // Bento's routes change state even on GET (a credential check is recorded and spends the rate limit), so they
            // count as writes: an <img> or a no-cors fetch on another site sends no Origin, but its Sec-Fetch-Site says so.
            var changesState = (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method) && !HttpMethods.IsOptions(request.Method)) ||
                request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase);
            if (changesState && ((request.Headers.Origin.Count > 0 && !IsOwnOrigin(request, request.Headers.Origin.ToString())) ||
                                 IsFromAnotherSite(request.Headers["Sec-Fetch-Site"].ToString())))
                return RefuseAsync(context, 403, "a request from another origin may not change the emulator's state");
            return next(context);
        }

        /// <summary>A browser's word that another site (or another port of this one) sent the request.</summary>
        private static bool IsFromAnotherSite(string secFetchSite)
            => string.Equals(secFetchSite, "cross-site", StringComparison.OrdinalIgnoreCase) ||
               string.Equals(secFetchSite, "same-site", StringComparison.OrdinalIgnoreCase);

        private static bool IsOwnOrigin(HttpRequest request, string origin)
            => Uri.TryCreate(origin, UriKind.Absolute, out var uri) &&
               string.Equals(uri.Scheme, request.Scheme, StringComparison.OrdinalIgnoreCase) &&
               string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);

        private static Task RefuseAsync(HttpContext context, int status, string error)
        {
            context.Response.StatusCode = status;
            return context.Response.WriteAsJsonAsync(new { error });
        }
    }
}
