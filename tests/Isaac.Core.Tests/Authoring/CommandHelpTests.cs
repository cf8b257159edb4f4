using System.Text.Json;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Authoring;

public sealed class CommandHelpTests : IDisposable
{
    private readonly TempDir _home = new();

    public void Dispose() => _home.Dispose();

    [Fact(Timeout = 30_000)]
    public async Task Cmd_help_and_help_cmd_show_description_usage_and_argument_descriptions_from_the_manifest()
    {
        // Act
        var flag = await IsaacProcess.RunAsync(_home.Path, "-c", "/sysinfo --help");
        var help = await IsaacProcess.RunAsync(_home.Path, "-c", "/help sysinfo");

        // Assert
        Assert.True(flag.ExitCode == 0, flag.ToString());
        Assert.Contains("Show this device: name, OS, uptime", flag.Stdout);
        Assert.Contains("Usage: /sysinfo [format] [--json]", flag.Stdout);
        Assert.Contains("format  'text' (the default) or 'json'", flag.Stdout);
        Assert.Contains("--json  Print the result as JSON", flag.Stdout);
        Assert.Equal(flag.Stdout, help.Stdout);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_users_script_command_gets_help_without_its_handler_running()
    {
        // Arrange: a handler that would fail if it ran
        TestManifests.Script(_home.Combine("commands"), "greet", "exit 9");

        // Act
        var run = await IsaacProcess.RunAsync(_home.Path, "-c", "/greet --help");

        // Assert
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Usage: /greet", run.Stdout);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_flag_a_built_in_does_not_know_is_a_one_line_error_naming_it_and_the_known_ones()
    {
        // Act
        var run = await IsaacProcess.RunAsync(_home.Path, "-c", "/queue --jsn");

        // Assert
        Assert.Equal(2, run.ExitCode);
        Assert.Equal("isaac: BAD_ARGUMENTS: Command 'queue' does not know the flag '--jsn'; it knows --json, --yes, --help. Type /queue --help.", run.Stderr.Trim());
    }

    [Theory(Timeout = 30_000)]
    [InlineData("/help --json")]
    [InlineData("/queue --json")]
    [InlineData("/devices --json")]
    [InlineData("/sysinfo --json")]
    [InlineData("/queue failed --json")]
    public async Task Json_works_for_the_built_ins_at_the_prompt(string line)
    {
        // Act
        var run = await IsaacProcess.RunAsync(_home.Path, "-c", line);

        // Assert
        Assert.True(run.ExitCode == 0, run.ToString());
        using var _ = JsonDocument.Parse(run.Stdout);
    }

    [Fact(Timeout = 30_000)]
    public async Task Sync_json_reaches_sync_instead_of_suggesting_itself()
    {
        // Act: no hub configured, so sync says it is unavailable
        var run = await IsaacProcess.RunAsync(_home.Path, "-c", "/sync --json");

        // Assert
        Assert.DoesNotContain("Unknown command", run.Stderr);
        Assert.Contains("Cloud unavailable", run.Stderr);
    }
}
