using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CliWrap;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Authoring;

/// <summary>docs/authoring.md stays true: its first-command steps are run as written, and its manifest reference matches the schema.</summary>
public sealed partial class AuthoringDocTests : IDisposable
{
    private static readonly string _doc = File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "docs", "authoring.md"));
    private readonly TempDir _home = new();

    public void Dispose() => _home.Dispose();

    [Theory(Timeout = 300_000)]
    [InlineData("Your first script command")]
    [InlineData("Your first plugin command")]
    public async Task The_first_command_steps_run_as_written_and_print_what_the_doc_shows(string section)
    {
        // Arrange: the doc's sh blocks of the section, in order, in one bash; the installed tool first on PATH
        var text = Section(section);
        var script = string.Join("\n", CodeBlocks(text, "sh"));
        var tools = Path.GetDirectoryName(await ToolPackage.IsaacAsync())!;
        var output = new StringBuilder();

        // Act
        var result = await CliWrap.Cli.Wrap("bash")
            .WithArguments(["-euo", "pipefail", "-c", script])
            .WithWorkingDirectory(_home.Path)
            .WithEnvironmentVariables(env => env
                .Set("ISAAC_HOME", _home.Combine("home"))
                .Set("PATH", $"{tools}:{Environment.GetEnvironmentVariable("PATH")}")
                .Set("CI", "true")
                .Set("DOTNET_NOLOGO", "1"))
            .WithStandardOutputPipe(PipeTarget.ToStringBuilder(output))
            .WithStandardErrorPipe(PipeTarget.ToStringBuilder(output))
            .WithValidation(CommandResultValidation.None)
            .ExecuteAsync();

        // Assert
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}:\n{script}\n---\n{output}");
        Assert.NotEmpty(CodeBlocks(text, "text"));
        foreach (var expected in CodeBlocks(text, "text"))
        {
            Assert.Contains(expected, output.ToString());
        }
    }

    [Fact]
    public void The_manifest_reference_documents_every_schema_key_and_nothing_else()
    {
        // Arrange
        using var schema = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "schemas", "command.schema.json")));
        var inSchema = new SortedSet<string>(StringComparer.Ordinal);
        Collect(schema.RootElement, "", inSchema);

        // Act
        var documented = new SortedSet<string>(
            ReferenceRow().Matches(Section("Manifest reference")).Select(m => m.Groups["key"].Value), StringComparer.Ordinal);

        // Assert
        Assert.Equal(inSchema, documented);
    }

    private static void Collect(JsonElement node, string path, SortedSet<string> keys)
    {
        if (node.TryGetProperty("items", out var items))
        {
            Collect(items, path + "[]", keys);
        }

        if (!node.TryGetProperty("properties", out var properties))
        {
            return;
        }

        foreach (var property in properties.EnumerateObject())
        {
            var key = path.Length == 0 ? property.Name : $"{path}.{property.Name}";
            keys.Add(key);
            Collect(property.Value, key, keys);
        }
    }

    private static string Section(string heading)
    {
        var start = _doc.IndexOf($"\n## {heading}\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"docs/authoring.md has no '## {heading}' section");
        var end = _doc.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        return end < 0 ? _doc[start..] : _doc[start..end];
    }

    private static List<string> CodeBlocks(string text, string language) =>
        [.. Regex.Matches(text, $"```{language}\\n(?<code>.*?)```", RegexOptions.Singleline).Select(m => m.Groups["code"].Value.TrimEnd())];

    [GeneratedRegex(@"^\| `(?<key>[a-z_\[\].]+)` \|", RegexOptions.Multiline)]
    private static partial Regex ReferenceRow();
}
