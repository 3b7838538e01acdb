using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace BentoSinks.Testing
{
    /// <summary>
    /// <c>ILogger</c> business-event programs run on every provider that delivers them (the log exporter, a Serilog-backed
    /// <c>ILogger</c>), so each provider is held to the same promise. Linked into the exporter's and the ASP.NET Core tests.
    /// </summary>
    internal static class LoggerScopePrograms
    {
        /// <summary>
        /// Ada logs <c>signup_completed</c> (detail <c>plan</c> = <c>pro</c>) inside <c>BeginBentoEvent</c>; work started
        /// inside the scope (it captures the flow, scope included) logs a plain line only after the scope ended. Exactly
        /// one event must arrive.
        /// </summary>
        public static async Task EventThenLateBackgroundLineAsync(ILogger logger)
        {
            using var identity = BentoIdentity.Push("ada@example.com");
            var release = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            Task background;
            using (logger.BeginBentoEvent("signup_completed"))
            {
                logger.LogInformation("Signed up for {plan}", "pro");
                background = Task.Run(async () =>
                {
                    await release.Task;
                    logger.LogInformation("Welcome cache warmed with {rows} rows", 12);
                });
            }
            release.SetResult(true);
            await background;
        }
    }
}
