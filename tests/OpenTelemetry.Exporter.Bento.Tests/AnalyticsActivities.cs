using System;
using System.Diagnostics;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    internal static class AnalyticsActivities
    {
        /// <summary>
        /// One <c>request</c> activity per event, tagged with the user's email (<c>ada@example.com</c> unless
        /// <paramref name="email"/> says otherwise), holding one analytics event of <paramref name="type"/> numbered
        /// from <paramref name="from"/> (<c>details.n</c>), with a <c>blob</c> tag when given.
        /// </summary>
        public static void Emit(ActivitySource source, int from, int count, string type = "step", string? blob = null, Func<int, string>? email = null)
        {
            for (var i = from; i < from + count; i++)
            {
                using var a = source.StartActivity("request")!;
                a.SetTag("user.email", email?.Invoke(i) ?? "ada@example.com");
                var tags = new ActivityTagsCollection { ["analytics.event"] = true, ["n"] = i };
                if (blob != null) tags["blob"] = blob;
                a.AddEvent(new ActivityEvent(type, default, tags));
            }
        }
    }
}
