using System.Diagnostics;
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

    /// <summary>Starts <c>isaac arguments…</c> in the background with exactly <paramref name="environment"/> (plus CI=true); each output line goes to <paramref name="output"/>.</summary>
    public static Process Start(string[] arguments, IReadOnlyDictionary<string, string?> environment, Action<string>? output = null)
    {
        var startInfo = new ProcessStartInfo(Fixtures.IsaacExe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            startInfo.Environment[name] = value;
        }

        startInfo.Environment["CI"] = "true";
        var process = Process.Start(startInfo)!;
        process.OutputDataReceived += (_, line) => { if (line.Data is { } data) { output?.Invoke(data); } };
        process.ErrorDataReceived += (_, line) => { if (line.Data is { } data) { output?.Invoke(data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Kills (with their process trees) those still running, and waits for them.</summary>
    public static void KillAll(IEnumerable<Process> processes)
    {
        foreach (var process in processes)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }

            process.Dispose();
        }
    }
}
