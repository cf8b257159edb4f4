using Isaac.Cli.Shell;
using Isaac.Core;
using Isaac.Core.Dispatch;
using Isaac.Core.Hosting;
using Isaac.Core.Internal;
using Isaac.Core.Manifests;

namespace Isaac.Cli;

/// <summary>The top-level actions of the <c>isaac</c> executable.</summary>
internal static partial class Commands
{
    /// <summary>
    /// Runs the command line. Whatever ends it with an exception (a bad config.yaml, a port in use, an unreadable
    /// folder, a damaged store) is said in Isaac's one error style, <c>isaac: what happened</c>, with exit code 1:
    /// never a stack trace. Isaac's own exceptions already say what to do; anything else also leaves its details
    /// in a file, for a bug report.
    /// </summary>
    public static async Task<int> InvokeAsync(Func<Task<int>> run)
    {
        try
        {
            return await run();
        }
        catch (OperationCanceledException)
        {
            return 130; // Ctrl-C while starting: the shell's convention for an interrupted command
        }
        catch (Exception ex)
        {
            return Fail(ex);
        }
    }

    /// <summary>Says <paramref name="ex"/> as one line on stderr and returns the exit code.</summary>
    public static int Fail(Exception ex)
    {
        Console.Error.WriteLine($"isaac: {Describe(ex)}");
        return 1;
    }

    private static string Describe(Exception ex)
    {
        var message = OneLine(ex.Message);
        if (ex.GetType().Namespace?.StartsWith("Isaac.", StringComparison.Ordinal) == true
            || ex is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
        {
            return message; // written for the person who runs isaac
        }

        try
        {
            // A fresh private folder, never a predictable name another user could have planted a link at.
            var details = Path.Combine(Directory.CreateTempSubdirectory("isaac-error-").FullName, "error.txt");
            File.WriteAllText(details, ex.ToString());
            return $"unexpected error: {message} (details in {details}).";
        }
        catch (Exception write) when (write is IOException or UnauthorizedAccessException)
        {
            return $"unexpected error: {message}";
        }
    }

    private static string OneLine(string text) => string.Join(' ', text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    public static async Task<int> RunOnceAsync(string line, bool json, IsaacSettings settings, CancellationToken cancellationToken)
    {
        using var logs = FileLogging.Create(settings);
        await using var host = await IsaacHost.StartAsync(settings, logs, cancellationToken);
        using var cancel = CancelOnCtrlC.Start(cancellationToken);
        var terminal = Terminal.Detect();
        var result = await host.DispatchAsync(line, terminal.Interactive, terminal.Width, Environment.CurrentDirectory, cancel.Token);
        if (json)
        {
            Console.Out.WriteLine(result.ToJson());
        }
        else
        {
            ResultPrinter.Print(result, terminal);
        }

        ReportQueueRecovery(host);
        return result.ExitCode;
    }

    public static async Task<int> ShellAsync(IsaacSettings settings)
    {
        var terminal = Terminal.Detect();
        if (terminal.Interactive)
        {
            IsaacSettings.EnsureWritable(settings.Home, "ISAAC_HOME"); // the history, the queue and the log live there
        }

        using var logs = FileLogging.Create(settings);
        await using var host = await IsaacHost.StartAsync(settings, logs);
        foreach (var problem in host.Problems)
        {
            Console.Error.WriteLine($"isaac: warning: {problem}");
        }

        // Only the interactive shell watches the commands' files (new, edited, deleted, rebuilt): a script or -c never pays for it.
        await using var watch = terminal.Interactive ? host.WatchCommands() : null;
        return terminal.Interactive
            ? await new InteractiveShell(host, terminal).RunAsync()
            : await RunScriptAsync(host, terminal);
    }

    // Not a terminal (a pipe, a file, CI): one line at a time, plain results, no prompt.
    private static async Task<int> RunScriptAsync(IsaacHost host, Terminal terminal)
    {
        var status = 0;
        while (await Console.In.ReadLineAsync() is { } line)
        {
            if (BuiltIns.TryRun(line, out var exit))
            {
                if (exit is { } code)
                {
                    return code;
                }

                continue;
            }

            using var cancel = CancelOnCtrlC.Start(CancellationToken.None);
            var result = await host.DispatchAsync(line, interactive: false, terminal.Width, Environment.CurrentDirectory, cancel.Token);
            ResultPrinter.Print(result, terminal);
            ReportQueueRecovery(host);
            status = result.ExitCode;
        }

        return status;
    }

    /// <summary>Tells the person, once, that a corrupt queue database was replaced.</summary>
    public static void ReportQueueRecovery(IsaacHost host)
    {
        if (host.QueueRecoveryNotice is { } notice && !_recoveryReported)
        {
            _recoveryReported = true;
            Console.Error.WriteLine($"isaac: warning: {notice}");
        }
    }

    private static bool _recoveryReported;
}
