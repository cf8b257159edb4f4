using System.Text.Json;
using Isaac.Core.Hosting;

namespace Isaac.Cli;

internal static partial class Commands
{
    public static async Task<int> ValidateAsync(string? path, bool json, IsaacSettings settings, CancellationToken cancellationToken)
    {
        // An unknown option reaches here as the path (System.CommandLine binds any token to an optional argument).
        if (path is not null && path.StartsWith('-'))
        {
            return Usage($"unknown option '{path}'; it knows --json and --help.", "validate");
        }

        if (path is not null && !File.Exists(path) && !Directory.Exists(path))
        {
            return Usage($"'{Path.GetFullPath(path)}' does not exist; give a command.yaml, a command folder or a folder of command folders.", "validate");
        }

        // Always a full validation: no cache.
        var report = await IsaacHost.ValidateAsync(path, settings, cancellationToken);
        if (json)
        {
            WriteJson(report);
        }
        else
        {
            foreach (var (name, manifest) in report.Loaded)
            {
                Console.Out.WriteLine($"ok    {name,-16} {manifest}");
            }

            foreach (var problem in report.Problems)
            {
                Console.Out.WriteLine($"error {problem.Text}");
                foreach (var line in problem.Mapping)
                {
                    Console.Out.WriteLine($"      {line}");
                }
            }

            Console.Out.WriteLine($"{report.Checked} manifest(s) checked, {report.Loaded.Count} loaded, {report.Problems.Count} problem(s).");
        }

        return report.Problems.Count == 0 ? 0 : 1;
    }

    private static void WriteJson(ValidationReport report)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var writer = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("checked", report.Checked);
            writer.WriteStartArray("loaded");
            foreach (var (name, manifest) in report.Loaded)
            {
                writer.WriteStartObject();
                writer.WriteString("name", name);
                writer.WriteString("manifest", manifest);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartArray("problems");
            foreach (var problem in report.Problems)
            {
                writer.WriteStartObject();
                writer.WriteString("file", problem.File);
                writer.WriteNumber("line", problem.Line);
                writer.WriteNumber("column", problem.Column);
                writer.WriteString("rule", problem.Rule);
                writer.WriteString("message", problem.Message);
                writer.WriteStartArray("mapping");
                foreach (var line in problem.Mapping)
                {
                    writer.WriteStringValue(line);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        stdout.Write("\n"u8);
    }
}
