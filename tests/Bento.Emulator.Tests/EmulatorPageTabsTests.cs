using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using OpenQA.Selenium;

namespace Bento.Emulator.Tests
{
    /// <summary>
    /// The page's live connection, counted by the emulator itself (<c>open_streams</c> in the summary): every tab of the
    /// page shares one stream, a tab that closes hands it to another, and without a stream every tab polls.
    /// </summary>
    public partial class EmulatorPageBrowserTests
    {
        // One more than the six HTTP/1.1 connections a browser opens to one host: a stream per tab would exhaust them.
        private const int TabCount = 7;

        [Fact]
        public async Task Seven_tabs_share_one_stream_and_each_shows_a_new_event()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var raw = new RawBento(emulator.BaseAddress);
            Assert.Equal(200, await raw.PostAsync(RawBento.Batch(1, type: "before_the_tabs")));
            using var driver = StartChrome();
            var tabs = OpenTabs(driver, emulator, TabCount, emulator.PageAddress);

            // Every tab rendered and is live: one through the stream it holds, six through that tab.
            var statuses = new List<string>();
            foreach (var tab in tabs)
            {
                driver.SwitchTo().Window(tab);
                Until(driver, emulator, "every tab to render and go live",
                    d => Attributes(d, "event-row", "data-type").Contains("before_the_tabs") && Status(d).StartsWith("live", StringComparison.Ordinal));
                statuses.Add(Status(driver));
            }
            Assert.Equal(1, await OpenStreamsAsync(raw));
            Assert.Equal(new[] { "live" }, statuses.Where(s => s == "live"));
            Assert.Equal(TabCount - 1, statuses.Count(s => s == "live (shared)"));

            // A new event reaches every tab through the one stream (no tab polls: each still says live).
            Assert.Equal(200, await raw.PostAsync(RawBento.Batch(1, type: "seen_by_every_tab")));
            EveryTabShows(driver, emulator, tabs, "seen_by_every_tab");
            Assert.All(tabs, tab => Assert.StartsWith("live", Status(driver.SwitchTo().Window(tab)), StringComparison.Ordinal));
            Assert.Equal(1, await OpenStreamsAsync(raw));

            // Closing the tab that streams hands the stream to another tab: still one connection, and every tab follows it.
            var holder = tabs[statuses.IndexOf("live")];
            driver.SwitchTo().Window(holder).Close();
            tabs.Remove(holder);
            Until(driver, emulator, "another tab to take the stream over",
                d => emulator.OpenStreams == 1 && tabs.Count(t => Status(d.SwitchTo().Window(t)) == "live") == 1);
            Assert.Equal(200, await raw.PostAsync(RawBento.Batch(1, type: "seen_after_the_handover")));
            EveryTabShows(driver, emulator, tabs, "seen_after_the_handover");
            Assert.Equal(1, await OpenStreamsAsync(raw));
        }

        [Fact]
        public async Task Without_the_stream_every_tab_polls_and_shows_a_new_event()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            // /_emulator/stream answers 503, as behind a proxy that breaks long responses.
            emulator.RefuseStreams = true;
            using var raw = new RawBento(emulator.BaseAddress);
            Assert.Equal(200, await raw.PostAsync(RawBento.Batch(1, type: "before_the_page")));
            using var driver = StartChrome();
            // The tab that asks for the stream, and one that joins after it was refused.
            var tabs = OpenTabs(driver, emulator, 2, emulator.PageAddress);
            foreach (var tab in tabs)
            {
                driver.SwitchTo().Window(tab);
                Until(driver, emulator, "every tab to render and poll",
                    d => Attributes(d, "event-row", "data-type").Contains("before_the_page") && Status(d) == "polling");
            }
            Assert.Equal(0, await OpenStreamsAsync(raw));

            // Only polling can bring this one: no stream is open.
            Assert.Equal(200, await raw.PostAsync(RawBento.Batch(1, type: "found_by_polling")));
            EveryTabShows(driver, emulator, tabs, "found_by_polling");
            Assert.All(tabs, tab => Assert.Equal("polling", Status(driver.SwitchTo().Window(tab))));
            Assert.Equal(0, await OpenStreamsAsync(raw));
        }

        /// <summary>Opens the page in <paramref name="count"/> tabs of one browser, each loaded before the next opens.</summary>
        private static List<string> OpenTabs(IWebDriver driver, BentoEmulator emulator, int count, Uri address)
        {
            // A tab that cannot get a connection fails the test in time rather than after the driver's 300 s.
            driver.Manage().Timeouts().PageLoad = Patience;
            var tabs = new List<string>();
            for (var i = 0; i < count; i++)
            {
                if (i > 0) driver.SwitchTo().NewWindow(WindowType.Tab);
                var number = i + 1;
                Explain(emulator, $"tab {number} to load", () => driver.Navigate().GoToUrl(address));
                tabs.Add(driver.CurrentWindowHandle);
            }
            return tabs;
        }

        /// <summary>Waits until every tab lists an event of <paramref name="type"/>; one tab at a time, none skipped.</summary>
        private static void EveryTabShows(IWebDriver driver, BentoEmulator emulator, IReadOnlyList<string> tabs, string type)
        {
            for (var i = 0; i < tabs.Count; i++)
            {
                driver.SwitchTo().Window(tabs[i]);
                Until(driver, emulator, $"tab {i + 1} of {tabs.Count} to show {type}", d => Attributes(d, "event-row", "data-type").Contains(type));
            }
        }

        /// <summary>The page's live status ("live", "live (shared)", "polling", …), read in one script run.</summary>
        private static string Status(IWebDriver driver)
            => (string)((IJavaScriptExecutor)driver).ExecuteScript("return document.getElementById('live-status').textContent;")!;

        /// <summary>What the emulator's summary says of open streams, over HTTP.</summary>
        private static async Task<int> OpenStreamsAsync(RawBento raw)
        {
            using var summary = await raw.GetJsonAsync("_emulator/summary");
            return summary.RootElement.GetProperty("open_streams").GetInt32();
        }

        /// <summary>Waits for <paramref name="condition"/>; a timeout says what was awaited and how many streams were open.</summary>
        private static void Until(IWebDriver driver, BentoEmulator emulator, string what, Func<IWebDriver, bool> condition)
            => Explain(emulator, what, () => Waiter(driver).Until(condition));

        private static void Explain(BentoEmulator emulator, string what, Action wait)
        {
            try
            {
                wait();
            }
            catch (WebDriverTimeoutException e)
            {
                throw new TimeoutException($"Gave up waiting for {what} after {Patience.TotalSeconds:F0} s; the emulator had {emulator.OpenStreams} stream(s) open.", e);
            }
        }
    }
}
