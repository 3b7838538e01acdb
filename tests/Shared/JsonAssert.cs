using System.Text.Json.Nodes;

namespace BentoSinks.Testing
{
    internal static class JsonAssert
    {
        /// <summary>The two JSON texts hold the same value (property order aside).</summary>
        public static void Equal(string expected, string actual)
            => Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), JsonNode.Parse(actual)), $"expected {expected}\nactual   {actual}");
    }
}
