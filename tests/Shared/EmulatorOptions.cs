using System;
using System.Text;
using Bento.Emulator;

namespace BentoSinks.Testing
{
    /// <summary>A client's options pointed at an emulator, and the credentials that must never show in a diagnostic.</summary>
    internal static class EmulatorOptions
    {
        /// <summary>The emulator's default secret key.</summary>
        public const string SecretKey = BentoEmulatorOptions.DefaultSecretKey;

        /// <summary>The Basic credentials a client sends the emulator by default (base64 of <c>publishable:secret</c>).</summary>
        public static string Credentials => Convert.ToBase64String(Encoding.UTF8.GetBytes(BentoEmulatorOptions.DefaultPublishableKey + ":" + SecretKey));

        /// <summary>The site UUID, keys and endpoint of <paramref name="emulator"/>; nothing else changes.</summary>
        public static void PointAt(BentoOptions o, BentoEmulator emulator)
        {
            o.SiteUuid = emulator.Options.SiteUuid;
            o.PublishableKey = emulator.Options.PublishableKey;
            o.SecretKey = emulator.Options.SecretKey;
            o.Endpoint = emulator.ApiBase;
        }

        /// <summary>
        /// <see cref="PointAt"/>, no request budget, and a period of an hour: the front ends' tests flush explicitly
        /// (ForceFlush, disposing the logger or the provider) or set their own period.
        /// </summary>
        public static void Configure(BentoOptions o, BentoEmulator emulator)
        {
            PointAt(o, emulator);
            o.Period = TimeSpan.FromHours(1);
            o.MaxRequestsPerMinute = 0;
        }
    }
}
