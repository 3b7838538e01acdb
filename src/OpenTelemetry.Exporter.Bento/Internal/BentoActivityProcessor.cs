using System;
using System.Diagnostics;

namespace OpenTelemetry.Exporter.Bento
{
    /// <summary>
    /// Filters finished activities in <see cref="OnEnd"/>: only their analytics events are queued, into the Bento
    /// pipeline (never into OpenTelemetry's batch queue, where ordinary spans would crowd them out). The lookups are
    /// <see cref="ActivityEventFormatter"/>'s.
    /// </summary>
    internal sealed class BentoActivityProcessor : BentoProcessorBase<Activity, ActivityEventItem, ActivityEventFormatter>
    {
        public BentoActivityProcessor(BentoExporterOptions options, IServiceProvider? services = null)
            : base(options, "traces", o => new ActivityEventFormatter(o), services)
        {
        }

        /// <summary>The current <see cref="BentoSinks.BentoIdentity"/> scope is open on the new activity: its events recorded in the scope are the scope's.</summary>
        public override void OnStart(Activity data)
        {
            if (data != null) BentoSinks.BentoIdentity.ActivityStarted(data);
        }

        public override void OnEnd(Activity data)
        {
            try
            {
                if (data is null) return;
                var index = -1;
                foreach (ref readonly var activityEvent in data.EnumerateEvents())
                {
                    index++;
                    if (!Formatter.IsAnalytics(activityEvent) || !Pipeline.AdmitType(activityEvent.Name)) continue;
                    var item = Formatter.Capture(data, activityEvent, index);
                    Pipeline.EnqueueIfIdentified(item, item.HasEmail);
                }
            }
            catch (Exception ex)
            {
                // The filter (AnalyticsEventFilter) is the application's code; the app never sees our exceptions.
                BentoExporterEventSource.Log.Error("Bento: failed to queue an activity's events (" + ex.GetType().Name + ").");
            }
        }
    }
}
