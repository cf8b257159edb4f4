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
        // Closing the terminal (SIGHUP) or SIGTERM to Isaac takes the command with it. Deliberate background jobs
        // (`server &`) are the user's and are left alone when the command ends normally, as in any shell.
        using var tracking = HandlerContainment.Track(() => KillTree(process));
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            KillTree(process);
            throw;
        }

        return process.ExitCode;
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited (or disposed once the command returned).
        }
    }
}
