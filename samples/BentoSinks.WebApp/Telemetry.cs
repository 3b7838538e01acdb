using System.Diagnostics;

namespace BentoSinks.WebApp
{
    /// <summary>The sample's ActivitySource (and its logger category).</summary>
    public sealed class Telemetry
    {
        /// <summary>The source's name, added to the tracer provider.</summary>
        public const string SourceName = "BentoSinks.WebApp";

        /// <summary>The source.</summary>
        public static readonly ActivitySource Source = new ActivitySource(SourceName);
    }
}
