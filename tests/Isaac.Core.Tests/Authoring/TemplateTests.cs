using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Authoring;

public sealed class TemplateTests : IDisposable
{
    private readonly TempDir _home = new();

    public void Dispose() => _home.Dispose();

    [Theory(Timeout = 300_000)]
    [InlineData("python")]
    [InlineData("bash")]
    [InlineData("node")]
    public async Task Isaac_new_script_creates_a_command_that_validates_and_runs_with_a_schema_line_that_resolves(string language)
    {
        // Act
        var created = await ToolPackage.RunIsaacAsync(_home.Path, "new", "greet", "--kind", "script", "--lang", language);
        var validate = await ToolPackage.RunIsaacAsync(_home.Path, "validate", _home.Combine("commands", "greet"));
        var run = await ToolPackage.RunIsaacAsync(_home.Path, "-c", "/greet Ada --shout");

        // Assert
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.True(validate.ExitCode == 0, validate.ToString());
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("GREETINGS, ADA!\n", run.Stdout);
        AssertSchemaLineResolves(_home.Combine("commands", "greet", "command.yaml"));
    }

    [Fact(Timeout = 300_000)]
    public async Task Isaac_new_plugin_creates_a_project_that_builds_validates_loads_and_runs_offline()
    {
        // Arrange
        var folder = _home.Combine("elsewhere", "hello-there");

        // Act
        var created = await ToolPackage.RunIsaacAsync(_home.Path, "new", "hello-there", "--kind", "plugin", "--output", folder);
        var build = await ToolPackage.DotnetAsync(folder, null, "build");
        var validate = await ToolPackage.RunIsaacAsync(_home.Path, "validate", folder);
        Directory.CreateDirectory(_home.Combine("commands"));
        Directory.Move(folder, _home.Combine("commands", "hello-there"));
        var run = await ToolPackage.RunIsaacAsync(_home.Path, "-c", "/hello-there Ada --shout");

        // Assert
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.True(validate.ExitCode == 0, validate.ToString());
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("GREETINGS, ADA!\n", run.Stdout);
        AssertSchemaLineResolves(_home.Combine("commands", "hello-there", "command.yaml"));
    }

    [Fact(Timeout = 300_000)]
    public async Task Dotnet_new_finds_both_templates_in_the_repository_and_the_script_one_runs()
    {
        // Arrange: a private template store, so the machine's own is untouched
        var cliHome = new Dictionary<string, string?> { ["DOTNET_CLI_HOME"] = _home.Combine("dotnet-home") };
        var templates = Path.Combine(Fixtures.RepoRoot, "tools", "templates");

        // Act
        var script = await ToolPackage.DotnetAsync(_home.Path, cliHome, "new", "install", Path.Combine(templates, "script-command"));
        var plugin = await ToolPackage.DotnetAsync(_home.Path, cliHome, "new", "install", Path.Combine(templates, "plugin-command"));
        var created = await ToolPackage.DotnetAsync(_home.Path, cliHome, "new", "isaac-script", "-n", "wave", "--lang", "bash", "-o", _home.Combine("commands", "wave"));
        var run = await ToolPackage.RunIsaacAsync(_home.Path, "-c", "/wave Bo");

        // Assert
        Assert.True(script.ExitCode == 0, script.ToString());
        Assert.Contains("isaac-script", script.Output);
        Assert.True(plugin.ExitCode == 0, plugin.ToString());
        Assert.Contains("isaac-plugin", plugin.Output);
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("Greetings, Bo!\n", run.Stdout);
    }

    private static void AssertSchemaLineResolves(string manifest)
    {
        var first = File.ReadLines(manifest).First();
        const string Prefix = "# yaml-language-server: $schema=";
        Assert.StartsWith(Prefix, first);
        var schema = first[Prefix.Length..];
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(manifest)!, schema)), $"{schema} does not exist");
    }
}
