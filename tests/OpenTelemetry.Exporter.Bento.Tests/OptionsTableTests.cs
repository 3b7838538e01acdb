using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using Serilog;

namespace OpenTelemetry.Exporter.Bento.Tests
{
    /// <summary>The README's options table names, for every option, a JSON name that both front ends accept.</summary>
    public class OptionsTableTests
    {
        [Fact]
        public void Every_json_name_in_the_readme_table_is_a_WriteTo_Bento_argument_and_an_exporter_option()
        {
            var rows = File.ReadAllLines(FindReadme())
                .SkipWhile(l => !l.StartsWith("| option | JSON name | environment |", StringComparison.Ordinal)).Skip(2)
                .TakeWhile(l => l.StartsWith('|')).ToArray();
            Assert.True(rows.Length >= 15, $"the options table has {rows.Length} rows");

            var serilogArgs = typeof(BentoLoggerConfigurationExtensions).GetMethods(BindingFlags.Public | BindingFlags.Static)
                .Where(m => m.Name == "Bento").SelectMany(m => m.GetParameters()).Select(p => p.Name!).ToHashSet(StringComparer.Ordinal);
            var exporterOptions = typeof(BentoExporterOptions).GetProperties().Where(p => p.CanWrite).Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
            var optionNames = typeof(global::BentoSinks.BentoOptions).GetProperties().Where(p => p.CanWrite).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);

            var listed = 0;
            foreach (var row in rows)
            {
                var cells = row.Split('|').Select(c => c.Trim()).ToArray();
                var options = Regex.Matches(cells[1], "`([A-Za-z]+)`").Select(m => m.Groups[1].Value).ToArray();
                foreach (var option in options) Assert.Contains(option, optionNames);
                listed += options.Length;
                if (cells[2] == "code only") continue;
                var jsonNames = Regex.Matches(cells[2], "`([A-Za-z]+)`").Select(m => m.Groups[1].Value).ToArray();
                Assert.Equal(options.Length, jsonNames.Length);
                foreach (var json in jsonNames)
                {
                    Assert.True(serilogArgs.Contains(json), $"`{json}` is not a WriteTo.Bento argument");
                    Assert.True(exporterOptions.Contains(json), $"`{json}` is not a BentoExporterOptions property");
                }
                var env = cells[3];
                if (env != "—") Assert.Matches("^`BENTO_[A-Z_]+`$", env);
            }
            // Every settable option is in the table.
            Assert.Equal(optionNames.Count, listed);
        }

        private static string FindReadme()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            {
                var path = Path.Combine(dir.FullName, "README.md");
                if (File.Exists(path) && File.Exists(Path.Combine(dir.FullName, "BentoSinks.sln"))) return path;
            }
            throw new FileNotFoundException("README.md not found above " + AppContext.BaseDirectory);
        }
    }
}
