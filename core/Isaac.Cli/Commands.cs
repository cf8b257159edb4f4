using System.Text.Json;
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
        using var logs = FileLogging.Create(settings);
        await using var host = await IsaacHost.StartAsync(settings, logs);
        var terminal = Terminal.Detect();
        foreach (var problem in host.Problems)
        {
            Console.Error.WriteLine($"isaac: warning: {problem}");
        }

        return terminal.Interactive
            ? await new InteractiveShell(host, terminal).RunAsync()
            : await RunScriptAsync(host, terminal);
    }

    public static async Task<int> ValidateAsync(string? path, IsaacSettings settings, CancellationToken cancellationToken)
    {
        // Always a full validation: no cache.
        var report = await IsaacHost.ValidateAsync(path, settings, cancellationToken);
        foreach (var (name, manifest) in report.Loaded)
        {
            Console.Out.WriteLine($"ok    {name,-16} {manifest}");
        }

        foreach (var problem in report.Problems)
        {
            Console.Out.WriteLine($"error {problem}");
        }

        Console.Out.WriteLine($"{report.Checked} manifest(s) checked, {report.Loaded.Count} loaded, {report.Problems.Count} problem(s).");
        return report.Problems.Count == 0 ? 0 : 1;
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
