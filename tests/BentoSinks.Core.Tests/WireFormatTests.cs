using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Bento.Emulator;

namespace BentoSinks.Core.Tests
{
    public class WireFormatTests
    {
        [Fact]
        public async Task The_example_event_arrives_exactly_with_Bento_headers_query_and_body()
        {
            await using var h = await PipelineUnderTest.StartAsync(o => o.Period = TimeSpan.FromHours(1));
            h.Pipeline.TryEnqueue(new TestEvent
            {
                Type = "signup_completed",
                Email = "ada@example.com",
                Date = new DateTimeOffset(2026, 11, 22, 11, 0, 0, TimeSpan.FromHours(1)),
                Fields = new Dictionary<string, object?> { ["first_name"] = "Ada", ["last_name"] = "Lovelace" },
                Details = new Dictionary<string, object?>
                {
                    ["plan"] = "pro", ["seats"] = 3, ["trial"] = false, ["tags"] = new[] { "a", "b" },
                    ["address"] = new Dictionary<string, object?> { ["city"] = "Paris" },
                },
            });
            await h.Pipeline.FlushAsync();

            var request = Assert.Single(h.Emulator.Requests);
            Assert.Equal(200, request.Status);
            Assert.Equal("/api/v1/batch/events?site_uuid=emulator-site", request.PathAndQuery);
            var expectedAuth = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("emulator-publishable-key:emulator-secret-key"));
            Assert.Equal(expectedAuth, request.Headers["authorization"]);
            Assert.StartsWith("BentoSinks/", request.Headers["user-agent"]);
            Assert.Equal("application/json", request.Headers["content-type"]);
            Assert.False(request.Headers.ContainsKey("traceparent"));

            const string expected = "{\"site_uuid\":\"emulator-site\",\"events\":[{\"type\":\"signup_completed\",\"email\":\"ada@example.com\"," +
                "\"date\":\"2026-11-22T10:00:00.000Z\",\"fields\":{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\"}," +
                "\"details\":{\"plan\":\"pro\",\"seats\":3,\"trial\":false,\"tags\":[\"a\",\"b\"],\"address\":{\"city\":\"Paris\"}}}]}";
            Assert.Equal(expected, request.Body);
            Assert.Equal(1, h.Counters.Sent);
            h.AssertAccounted();
        }

        [Fact]
        public async Task Hostile_values_still_produce_valid_json_and_arrive()
        {
            await using var h = await PipelineUnderTest.StartAsync(o => o.Period = TimeSpan.FromHours(1));
            object deep = "bottom";
            for (var i = 0; i < 10_000; i++) deep = new List<object?> { deep };
            var details = new Dictionary<string, object?>
            {
                ["nan"] = double.NaN,
                ["pinf"] = double.PositiveInfinity,
                ["ninf"] = float.NegativeInfinity,
                ["lone"] = "a\uD800b\uDC00c",
                ["control"] = "\u0000\u0001\u001f\t\n\"\\",
                ["huge"] = new string('x', 1_000_000),
                ["deep"] = deep,
                ["null"] = null,
                ["dec"] = 12345678901234567890.123456789m,
                ["\uD801odd key\u0007"] = "v",
                ["array"] = Enumerable.Range(0, 10_000).ToArray(),
            };
            h.Pipeline.TryEnqueue(new TestEvent { Type = "hostile\uDFFF", Email = "zoë@exämple.com", Details = details });
            await h.Pipeline.FlushAsync();

            var e = Assert.Single(h.Emulator.Events);
            Assert.Equal("NaN", e.Detail("nan")!.Value.GetString());
            Assert.Equal("Infinity", e.Detail("pinf")!.Value.GetString());
            Assert.Equal("-Infinity", e.Detail("ninf")!.Value.GetString());
            Assert.Equal("a\uFFFDb\uFFFDc", e.Detail("lone")!.Value.GetString());
            Assert.Equal("\u0000\u0001\u001f\t\n\"\\", e.Detail("control")!.Value.GetString());
            Assert.Equal(1_000_000, e.Detail("huge")!.Value.GetString()!.Length);
            Assert.Equal(12345678901234567890.123456789m, e.Detail("dec")!.Value.GetDecimal());
            Assert.Equal(JsonValueKind.Null, e.Detail("null")!.Value.ValueKind);
            Assert.Equal("zoë@exämple.com", e.Email);
            var depth = 0;
            var node = e.Detail("deep")!.Value;
            while (node.ValueKind == JsonValueKind.Array) { node = node[0]; depth++; }
            Assert.Equal(Json.BentoJson.MaxValueDepth - 1, depth); // details itself is the first level
            Assert.Equal("[max depth exceeded]", node.GetString());
        }

        [Fact]
        public async Task Emulator_accepts_the_documented_example_verbatim_with_site_uuid_in_the_query_and_refuses_it_in_the_body_alone()
        {
            await using var emulator = await BentoEmulator.StartAsync(new BentoEmulatorOptions { SiteUuid = "site-123" });
            const string example = @"{
  ""site_uuid"": ""site-123"",
  ""events"": [
    {
      ""type"": ""signup_completed"",
      ""email"": ""ada@example.com"",
      ""date"": ""2026-11-22T10:00:00.000Z"",
      ""fields"":  { ""first_name"": ""Ada"", ""last_name"": ""Lovelace"" },
      ""details"": { ""plan"": ""pro"", ""seats"": 3, ""trial"": false, ""tags"": [""a"", ""b""], ""address"": { ""city"": ""Paris"" } }
    }
  ]
}";
            using var http = new System.Net.Http.HttpClient();
            var auth = EmulatorOptions.Credentials;

            async Task<(int, string)> Post(string query, string body, bool userAgent = true, string? authorization = null)
            {
                using var req = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Post, new Uri(emulator.BaseAddress, "api/v1/batch/events" + query));
                req.Headers.TryAddWithoutValidation("Authorization", authorization ?? "Basic " + auth);
                if (userAgent) req.Headers.TryAddWithoutValidation("User-Agent", "bento-node-site-123");
                req.Content = new System.Net.Http.StringContent(body, Encoding.UTF8, "application/json");
                using var resp = await http.SendAsync(req);
                return ((int)resp.StatusCode, await resp.Content.ReadAsStringAsync());
            }

            // As the official Node SDK sends it: site_uuid in the body (and here in the query too).
            var (status, text) = await Post("?site_uuid=site-123", example);
            Assert.Equal(200, status);
            Assert.Equal("{\"results\":1,\"failed\":0}", text);
            // Bento's conventions require site_uuid in the query: the body alone is refused, as Bento would.
            (status, _) = await Post("", example);
            Assert.Equal(401, status);
            // As the Segment function sends it: site_uuid only in the query, no site_uuid in the body.
            var segment = "{\"events\":[{\"type\":\"purchase_completed\",\"email\":\"ada@example.com\",\"details\":{\"plan\":\"pro\"}}]}";
            (status, _) = await Post("?site_uuid=site-123", segment);
            Assert.Equal(200, status);
            Assert.Equal(2, emulator.EventCount);

            // And it refuses what Bento refuses.
            Assert.Equal(401, (await Post("", segment)).Item1); // no site_uuid anywhere
            Assert.Equal(401, (await Post("?site_uuid=other", example)).Item1);
            Assert.Equal(401, (await Post("?site_uuid=site-123", example, authorization: "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("p:wrong")))).Item1);
            Assert.Equal(403, (await Post("?site_uuid=site-123", example, userAgent: false)).Item1);
            var (badStatus, badBody) = await Post("?site_uuid=site-123", "{\"events\":[{\"type\":\"a\",\"email\":\"a@b.c\"},{\"type\":\"b\"}]}");
            Assert.Equal(400, badStatus);
            Assert.Contains("\"index\":1", badBody);
            Assert.Equal(400, (await Post("?site_uuid=site-123", "{\"events\":[]}")).Item1);
            Assert.Equal(400, (await Post("?site_uuid=site-123", "{\"events\":[{\"type\":\"a\",\"email\":\"a@b.c\",\"fields\":{\"x\":{\"nested\":1}}}]}")).Item1);
            Assert.Equal(400, (await Post("?site_uuid=site-123", "{\"events\":[{\"type\":\"$purchase\",\"email\":\"a@b.c\",\"details\":{\"value\":{\"amount\":1,\"currency\":\"USD\"}}}]}")).Item1);
            Assert.Equal(2, emulator.EventCount);
        }
    }
}
