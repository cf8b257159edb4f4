using System.Text.Json;
using Isaac.Core.Hosting;

namespace Isaac.Cli;

internal static partial class Commands
{
    /// <summary>The exit code of a command line that is wrong (an unknown option, a path that does not exist): not a manifest problem.</summary>
    public const int UsageExitCode = 2;

    /// <summary>Says what is wrong with the command line of <c>isaac SUBCOMMAND</c> as one line and returns <see cref="UsageExitCode"/>.</summary>
    public static int UsageError(string subcommand, string message)
    {
        Console.Error.WriteLine($"isaac: {message} Type 'isaac {subcommand} --help'.");
        return UsageExitCode;
    }

    public static async Task<int> ValidateAsync(string? path, bool json, IsaacSettings settings, CancellationToken cancellationToken)
    {
        // An unknown option reaches here as the path (System.CommandLine binds any token to an optional argument).
        if (path is not null && path.StartsWith('-'))
        {
            return UsageError("validate", $"unknown option '{path}'; it knows --json and --help.");
        }

        if (path is not null && !File.Exists(path) && !Directory.Exists(path))
        {
            return UsageError("validate", $"'{Path.GetFullPath(path)}' does not exist; give a command.yaml, a command folder or a folder of command folders.");
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
