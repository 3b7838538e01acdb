using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;
using Serilog;
using Serilog.Context;
using Xunit.Abstractions;

namespace Bento.Emulator.Tests
{
    /// <summary>
    /// The emulator's page in a real browser (Debian's chromium and chromedriver, headless): events logged through the
    /// Serilog sink and a refused request appear without a reload, the filters work, the refusal shows its reason.
    /// </summary>
    [Collection("SelfLog")]
    public partial class EmulatorPageBrowserTests
    {
        private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
        private static readonly (string Email, string First, string Last, string Plan)[] Users =
        {
            ("ada@example.com", "Ada", "Lovelace", "pro"),
            ("grace@example.com", "Grace", "Hopper", "team"),
            ("alan@example.com", "Alan", "Turing", "pro"),
        };

        private readonly ITestOutputHelper _output;

        public EmulatorPageBrowserTests(ITestOutputHelper output) => _output = output;

        [Fact]
        public async Task The_page_shows_events_and_refusals_live_and_filters_them()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var driver = StartChrome();
            driver.Navigate().GoToUrl(emulator.PageAddress);
            // Marks this document: a reload would lose the mark.
            ((IJavaScriptExecutor)driver).ExecuteScript("window.loadedOnce = 'yes';");
            var wait = Waiter(driver);
            wait.Until(d => d.FindElement(By.Id("live-status")).Text == "live");
            Assert.Empty(Rows(driver, "event-row"));

            // The app: Serilog with the Bento sink pointed at the emulator, identity from log context.
            var logger = new LoggerConfiguration()
                .Enrich.FromLogContext()
                .WriteTo.Bento(BentoEmulatorOptions.DefaultSiteUuid, BentoEmulatorOptions.DefaultPublishableKey, BentoEmulatorOptions.DefaultSecretKey,
                    endpoint: emulator.ApiBase.ToString(), period: TimeSpan.FromMilliseconds(50))
                .CreateLogger();
            foreach (var (email, first, last, plan) in Users)
            {
                using (LogContext.PushProperty("Email", email))
                using (LogContext.PushProperty("FirstName", first))
                using (LogContext.PushProperty("LastName", last))
                {
                    logger.ForAnalytics("signup_completed").Information("Signed up for {plan} with {seats} seats", plan, 3);
                    logger.ForAnalytics("trial_started").Information("Trial of {days} days", 14);
                }
            }
            await logger.DisposeAsync();
            // And a request Bento would refuse: the wrong secret key.
            using (var raw = new RawBento(emulator.BaseAddress)) Assert.Equal(401, await raw.PostAsync(RawBento.Batch(1), secretKey: "not-the-secret"));

            // Without a reload, the events appear (newest first) with their fields, request and User-Agent.
            wait.Until(d => Rows(d, "event-row").Count == 6);
            await WaitForLatestRenderAsync(driver, emulator);
            var rows = Rows(driver, "event-row");
            Assert.Equal(new[] { "trial_started", "signup_completed" }, rows.Take(2).Select(r => r.GetDomAttribute("data-type")));
            var newest = rows[0].FindElements(By.TagName("td")).Select(c => c.Text).ToArray();
            Assert.Equal(new[] { "trial_started", "alan@example.com", "Alan", "Turing" }, newest[1..5]);
            Assert.StartsWith("BentoSinks/", newest[7]);
            Assert.Equal("6", driver.FindElement(By.Id("total-events")).Text);
            Assert.Equal("3", driver.FindElement(By.Id("total-users")).Text);

            // The refused request, apart, with its status and its reason in words.
            Assert.Single(Rows(driver, "refused-row"));
            var refused = Rows(driver, "refused-row")[0];
            Assert.Equal("401", refused.GetDomAttribute("data-status"));
            Assert.Contains("wrong credentials", refused.FindElement(By.ClassName("reason")).Text);
            Assert.Equal("1", driver.FindElement(By.Id("total-refused")).Text);

            // The details of an event expand.
            var signup = Rows(driver, "event-row").First(r => r.GetDomAttribute("data-type") == "signup_completed");
            Assert.Equal("", signup.FindElement(By.TagName("pre")).GetDomProperty("textContent")); // bodies come when a row is opened
            signup.FindElement(By.TagName("summary")).Click();
            wait.Until(d => signup.FindElement(By.TagName("pre")).Text.Contains("plan", StringComparison.Ordinal));
            var details = signup.FindElement(By.TagName("pre")).Text;
            Assert.Contains("\"plan\": \"pro\"", details);
            Assert.Contains("\"seats\": 3", details);

            Screenshot(driver, "emulator-page.png");

            // Filter by email, then by type (the page asks the API; no reload).
            driver.FindElement(By.Id("filter-email")).SendKeys("grace");
            wait.Until(d => Attributes(d, "event-row", "data-email") is var emails && emails.Length == 2 && emails.All(e => e == "grace@example.com"));
            driver.FindElement(By.Id("filter-type")).SendKeys("trial");
            wait.Until(d => Attributes(d, "event-row", "data-type").SequenceEqual(new[] { "trial_started" }));
            driver.FindElement(By.Id("filter-email")).Clear();
            driver.FindElement(By.Id("filter-email")).SendKeys(" "); // an input event; the filter is trimmed
            wait.Until(d => Attributes(d, "event-row", "data-type") is var types && types.Length == 3 && types.All(t => t == "trial_started"));
            Screenshot(driver, "emulator-page-filtered.png");

            // Clear empties the list, live.
            driver.FindElement(By.Id("filter-type")).Clear();
            driver.FindElement(By.Id("filter-type")).SendKeys(" ");
            driver.FindElement(By.Id("clear")).Click();
            wait.Until(d => Rows(d, "event-row").Count == 0 && Rows(d, "refused-row").Count == 0 && d.FindElement(By.Id("total-events")).Text == "0");
            Assert.Equal(0, emulator.EventCount);

            Assert.Equal("yes", ((IJavaScriptExecutor)driver).ExecuteScript("return window.loadedOnce;"));
        }

        [Fact]
        public async Task The_page_stays_responsive_with_100000_events_showing_one_page()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using (var raw = new RawBento(emulator.BaseAddress))
                for (var b = 0; b < 100; b++) Assert.Equal(200, await raw.PostAsync(RawBento.Batch(1000, b * 1000)));
            using var driver = StartChrome();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            driver.Navigate().GoToUrl(emulator.PageAddress);
            var wait = Waiter(driver);
            wait.Until(d => Rows(d, "event-row").Count == 100);
            var loaded = clock.Elapsed;
            Assert.Equal("100,000", driver.FindElement(By.Id("total-events")).Text.Replace('\u202f', ',').Replace('.', ','));
            Assert.Equal("100000", Attributes(driver, "event-row", "data-id")[0]);

            // Older pages by cursor, then back to the newest.
            driver.FindElement(By.Id("older")).Click();
            wait.Until(d => Attributes(d, "event-row", "data-id").FirstOrDefault() == "99900");
            driver.FindElement(By.Id("newest")).Click();
            wait.Until(d => Attributes(d, "event-row", "data-id").FirstOrDefault() == "100000");

            clock.Restart();
            driver.FindElement(By.Id("filter-email")).SendKeys("user7@");
            wait.Until(d => Attributes(d, "event-row", "data-email") is var emails && emails.Length == 100 && emails.All(e => e == "user7@example.com"));
            _output.WriteLine($"100,000 events: first page shown {loaded.TotalMilliseconds:F0} ms after navigation; email filter applied in {clock.Elapsed.TotalMilliseconds:F0} ms (debounce 150 ms included)");
            Assert.Equal(100, Convert.ToInt32(((IJavaScriptExecutor)driver).ExecuteScript("return document.querySelectorAll('tr.event-row').length;")));
        }

        [Fact]
        public async Task The_page_lists_the_top_types_only_and_renders_once_without_a_stream_at_live_0()
        {
            await using var emulator = await BentoEmulator.StartAsync();
            using var raw = new RawBento(emulator.BaseAddress);
            // 20,000 distinct types, one event each.
            for (var b = 0; b < 20; b++)
            {
                var body = new System.Text.StringBuilder("{\"events\":[");
                for (var i = 0; i < 1000; i++) body.Append(i > 0 ? "," : "").Append("{\"type\":\"t").Append(b * 1000 + i).Append("\",\"email\":\"a@example.com\"}");
                Assert.Equal(200, await raw.PostAsync(body.Append("]}").ToString()));
            }
            using var driver = StartChrome();
            driver.Navigate().GoToUrl(new Uri(emulator.PageAddress, "?live=0"));
            var wait = Waiter(driver);
            wait.Until(d => d.FindElement(By.Id("total-events")).Text.Replace('\u202f', ',').Replace('.', ',') == "20,000");
            Assert.Equal(20, driver.FindElements(By.CssSelector("#by-type li")).Count);
            Assert.Contains("top 20 of 20,000", driver.FindElement(By.Id("types-shown")).Text.Replace('\u202f', ',').Replace('.', ','));
            Assert.Equal("static (?live=0)", driver.FindElement(By.Id("live-status")).Text);
            // The events present at load are shown (the newest page of them).
            wait.Until(d => Rows(d, "event-row").Count == 100);
            // No stream and no polling: the page is idle once rendered. The emulator sees no stream open (the page would
            // have asked for it with its first requests, before the rows above could render), and the browser fetched none.
            Assert.Equal(0, await OpenStreamsAsync(raw));
            Assert.Equal(0L, ((IJavaScriptExecutor)driver).ExecuteScript(
                "return performance.getEntriesByType('resource').filter(r => r.name.includes('/_emulator/stream')).length;"));
        }

        /// <summary>Waits until the page shows the log's latest version: after that nothing re-renders until something new arrives.</summary>
        private static async Task WaitForLatestRenderAsync(IWebDriver driver, BentoEmulator emulator)
        {
            using var raw = new RawBento(emulator.BaseAddress);
            using var summary = await raw.GetJsonAsync("_emulator/summary");
            var version = summary.RootElement.GetProperty("version").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);
            Waiter(driver).Until(d => (string?)((IJavaScriptExecutor)d).ExecuteScript("return document.body.dataset.version;") == version);
        }

        /// <summary>One attribute of every row of a kind, read in one script run (rows are re-rendered as updates arrive).</summary>
        private static string[] Attributes(IWebDriver driver, string kind, string attribute)
            => ((IReadOnlyCollection<object>)((IJavaScriptExecutor)driver).ExecuteScript(
                    $"return Array.from(document.querySelectorAll('tr.{kind}')).map(r => r.getAttribute('{attribute}'));")!)
                .Select(o => (string)o).ToArray();

        private static WebDriverWait Waiter(IWebDriver driver)
        {
            var wait = new WebDriverWait(driver, Patience);
            wait.IgnoreExceptionTypes(typeof(StaleElementReferenceException));
            return wait;
        }

        private static ReadOnlyCollection<IWebElement> Rows(IWebDriver driver, string kind) => driver.FindElements(By.CssSelector("tr." + kind));

        private void Screenshot(IWebDriver driver, string name)
        {
            var folder = Environment.GetEnvironmentVariable("BENTO_SCREENSHOTS") is { Length: > 0 } dir ? dir : Path.Combine(AppContext.BaseDirectory, "screenshots");
            Directory.CreateDirectory(folder);
            var path = Path.Combine(folder, name);
            ((ITakesScreenshot)driver).GetScreenshot().SaveAsFile(path);
            _output.WriteLine("screenshot: " + path);
        }

        /// <summary>Debian's chromium through Debian's chromedriver, headless; .ci/run installs both where missing.</summary>
        private static ChromeDriver StartChrome()
        {
            const string chromium = "/usr/bin/chromium", chromedriver = "/usr/bin/chromedriver";
            if (!File.Exists(chromium) || !File.Exists(chromedriver))
                throw new InvalidOperationException($"The browser test needs {chromium} and {chromedriver}: apt-get install -y chromium chromium-driver (.ci/run does).");
            var options = new ChromeOptions { BinaryLocation = chromium };
            options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,900", "--lang=en-US");
            var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(chromedriver)!, Path.GetFileName(chromedriver));
            service.SuppressInitialDiagnosticInformation = true;
            service.HideCommandPromptWindow = true;
            return new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
        }
    }
}
