using System.Text;
using CliWrap;

namespace Isaac.Core.Tests.Support;

internal sealed record IsaacRun(int ExitCode, string Stdout, string Stderr);

/// <summary>Runs the real <c>isaac</c> executable with its own ISAAC_HOME.</summary>
internal static class IsaacProcess
{
    public static Task<IsaacRun> RunAsync(string home, params string[] arguments) => RunWithInputAsync(home, stdin: null, arguments);

    public static Task<IsaacRun> RunWithInputAsync(string home, string? stdin, params string[] arguments) =>
        RunWithEnvironmentAsync(new Dictionary<string, string?> { ["ISAAC_HOME"] = home, ["ISAAC_DEVICE"] = "e2e-device" }, arguments, stdin);

    public static async Task<IsaacRun> RunWithEnvironmentAsync(IReadOnlyDictionary<string, string?> environment, string[] arguments, string? stdin = null)
    {
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var result = await CliWrap.Cli.Wrap(Fixtures.IsaacExe)
            .WithArguments(arguments)
            .WithEnvironmentVariables(env => env.Set(environment).Set("CI", "true"))
            .WithStandardInputPipe(stdin is null ? PipeSource.Null : PipeSource.FromString(stdin))
            .WithStandardOutputPipe(PipeTarget.ToStringBuilder(stdout))
            .WithStandardErrorPipe(PipeTarget.ToStringBuilder(stderr))
            .WithValidation(CommandResultValidation.None)
            .ExecuteAsync();
        return new IsaacRun(result.ExitCode, stdout.ToString(), stderr.ToString());
    }
}
