using System.Diagnostics;

namespace Isaac.Core.Execution;

/// <summary>Runs an ordinary command line through the user's shell with the terminal attached.</summary>
internal sealed class TerminalShell
{
    /// <summary>The shell program: <c>$SHELL</c>, else <c>/bin/sh</c>.</summary>
    public static string Program => Environment.GetEnvironmentVariable("SHELL") is { Length: > 0 } shell ? shell : "/bin/sh";

    public async Task<int> RunAsync(string commandLine, string workingDirectory, CancellationToken cancellationToken = default)
    {
        var startInfo = new ProcessStartInfo(Program) { UseShellExecute = false, WorkingDirectory = workingDirectory };
        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add(commandLine);
        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start '{Program}'.");
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return process.ExitCode;
    }
}
