using System.Text;
using CliWrap;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Cli;

/// <summary>
/// <c>isaac completion bash|zsh|fish</c>: each script is loaded in the real shell and asked for completions, which
/// come from the isaac on the PATH (subcommands, options, and this home's meta-commands after <c>-c</c>).
/// </summary>
public sealed class CompletionScriptTests : IDisposable
{
    private readonly TempDir _home = new();

    public CompletionScriptTests() =>
        TestManifests.Script(_home.Combine("commands"), "greet", """read -r _; printf '{"status":"success","stdout":"hi"}'""");

    public void Dispose() => _home.Dispose();

    [Fact(Timeout = 60_000)]
    public async Task The_bash_script_registers_a_completion_for_isaac()
    {
        // Act
        var registered = await RunAsync("bash", "source <(isaac completion bash); complete -p isaac");

        // Assert
        Assert.Equal("complete -o default -F _isaac_complete isaac\n", registered);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("isaac va", new[] { "validate" })]
    [InlineData("isaac --no-", new[] { "--no-color" })]
    [InlineData("isaac completion z", new[] { "zsh" })]
    [InlineData("isaac -c /gr", new[] { "/greet" })]
    [InlineData("isaac -c /sy", new[] { "/sync", "/sysinfo" })]
    [InlineData("isaac hub add", new[] { "add-device" })]
    public async Task Bash_completes_subcommands_options_and_meta_commands(string line, string[] expected)
    {
        // Act: what bash's programmable completion does on Tab
        var words = await RunAsync("bash", $$"""
            source <(isaac completion bash)
            COMP_LINE='{{line}}'; COMP_POINT=${#COMP_LINE}
            _isaac_complete
            printf '%s\n' "${COMPREPLY[@]}"
            """);

        // Assert
        Assert.Equal(expected, words.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact(Timeout = 60_000)]
    public async Task Zsh_registers_the_completion_function_and_it_offers_the_meta_commands()
    {
        // Act: compadd is stood in for, to print what zsh would offer
        var registered = await RunAsync("zsh", "autoload -U compinit; compinit -u; source <(isaac completion zsh); print -r -- ${_comps[isaac]}");
        var offered = await RunAsync("zsh", """
            autoload -U compinit; compinit -u; source <(isaac completion zsh)
            compadd() { print -l -- ${(P)2} }
            BUFFER='isaac -c /gr'; CURSOR=${#BUFFER}; _isaac
            """);

        // Assert
        Assert.Equal("_isaac\n", registered);
        Assert.Equal("/greet\n", offered);
    }

    [Fact(Timeout = 60_000)]
    public async Task Fish_completes_subcommands_and_meta_commands()
    {
        // Act
        var offered = await RunAsync("fish", "isaac completion fish | source; complete -C 'isaac va'; complete -C 'isaac -c /gr'");

        // Assert
        Assert.Equal(["validate", "/greet"], offered.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private async Task<string> RunAsync(string shell, string script)
    {
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var path = Path.GetDirectoryName(Fixtures.IsaacExe) + ":" + Environment.GetEnvironmentVariable("PATH");
        var result = await CliWrap.Cli.Wrap(shell)
            .WithArguments(["-c", script])
            .WithEnvironmentVariables(env => env.Set("PATH", path).Set("ISAAC_HOME", _home.Path).Set("ISAAC_DEVICE", "desktop").Set("ISAAC_HUB", null))
            .WithStandardOutputPipe(PipeTarget.ToStringBuilder(stdout))
            .WithStandardErrorPipe(PipeTarget.ToStringBuilder(stderr))
            .WithValidation(CommandResultValidation.None)
            .ExecuteAsync();
        Assert.True(result.ExitCode == 0, $"{shell} exited {result.ExitCode}: {stderr}");
        return stdout.ToString();
    }
}
