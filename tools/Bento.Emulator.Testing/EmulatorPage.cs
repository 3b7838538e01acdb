using System;
using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace Bento.Emulator
{
    /// <summary>
    /// The live page at <c>/</c>: an HTML page, its script and its style sheet, embedded in this assembly (folder
    /// <c>Page/</c>) and served as they are: no CDN, no external asset (the Content-Security-Policy allows only this origin).
    /// The page reads the inspection API and follows <c>/_emulator/stream</c>.
    /// </summary>
    internal sealed class EmulatorPage
    {
        private const string Policy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";
        private readonly Dictionary<string, (byte[] Content, string ContentType)> _assets = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);

        public EmulatorPage()
        {
            Add("index.html", "text/html; charset=utf-8");
            Add("app.js", "text/javascript; charset=utf-8");
            Add("app.css", "text/css; charset=utf-8");
        }

        /// <summary><c>GET /</c>: the page.</summary>
        public Task GetIndexAsync(HttpContext context) => ServeAsync(context, "index.html");

        /// <summary><c>GET /_emulator/page/{name}</c>: the page's script and style sheet.</summary>
        public Task GetAssetAsync(HttpContext context, string name)
        {
            if (name == "index.html" || !_assets.ContainsKey(name))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }
            return ServeAsync(context, name);
        }

        private Task ServeAsync(HttpContext context, string name)
        {
            var (content, contentType) = _assets[name];
            var response = context.Response;
            response.ContentType = contentType;
            response.ContentLength = content.Length;
            response.Headers.CacheControl = "no-cache";
            response.Headers.ContentSecurityPolicy = Policy;
            response.Headers.XContentTypeOptions = "nosniff";
            // Never framed by another site: a click on Clear in an invisible frame would be a same-origin reset.
            response.Headers.XFrameOptions = "DENY";
            return response.Body.WriteAsync(content, 0, content.Length, context.RequestAborted);
        }

        private void Add(string name, string contentType)
        {
            var resource = "Bento.Emulator.Page." + name;
            using var stream = typeof(EmulatorPage).Assembly.GetManifestResourceStream(resource)
                ?? throw new InvalidOperationException($"The embedded resource {resource} is missing from the build.");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            _assets[name] = (copy.ToArray(), contentType);
        }
    }
}
