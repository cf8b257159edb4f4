using System.Globalization;
using Isaac.Core.Dispatch;
using Isaac.Core.Hosting;
using Isaac.LineEditor;

namespace Isaac.Cli.Shell;

/// <summary>The interactive prompt: Isaac's line editor, persisted history, completion, and a prompt that follows the queue.</summary>
internal sealed class InteractiveShell(IsaacHost host, Terminal terminal)
{
    private const int DefaultHistoryLimit = 1000;

    private volatile int _queued;

    public async Task<int> RunAsync()
    {
        var limit = int.TryParse(Environment.GetEnvironmentVariable("ISAAC_HISTSIZE"), NumberStyles.None, CultureInfo.InvariantCulture, out var size) && size > 0
            ? size
            : DefaultHistoryLimit;
        var history = new History(host.Settings.HistoryPath, limit);
        var recall = new EditorHistory(limit);
        recall.Load(history.Load());
        var completion = new ShellCompletion(host);
        using var editor = new Editor(recall, PromptText, completion.Complete, completion.FirstWordStyle, terminal.Color);

        // Opening the queue now means a corrupt file is reported before the first command.
        _queued = (await host.GetQueueStatusAsync()).Queued;
        Commands.ReportQueueRecovery(host);

        // The prompt follows the queue's status stream (this process's writes at once, other processes' as soon as
        // inotify reports them) and is redrawn at once, half-typed line and all: no key needed.
        using var queueWatch = host.QueueChanges.Subscribe(status =>
        {
            _queued = status.Queued;
            editor.Invalidate();
        });
        using var syncNotices = host.SyncEvents.Subscribe(synced => editor.Notify(synced.ToString()));
        using var deadNotices = host.DeadLetters.Subscribe(dead => editor.Notify(dead.ToString()), error => editor.Notify($"isaac: warning: dead-letter notices stopped: {error.Message}"));
        host.StartSync();

        // With a hub configured this shell is also a device: it serves routed commands and shows routed results as they arrive.
        using var background = new CancellationTokenSource();
        var device = host.CreateAgent(capacity: 4);
        using var agentNotices = device?.Notices.Subscribe(notice => editor.Notify($"isaac: warning: {notice}"));
        var agent = device?.RunAsync(background.Token) ?? Task.CompletedTask;
        var devices = RefreshDevicesAsync(completion, background.Token);
        await using var inbox = host.StartResultInbox(editor.Notify);
        try
        {
            return await ReadLoopAsync(editor, recall, history, completion, background.Token);
        }
        finally
        {
            await background.CancelAsync();
            await agent;
            await devices;
        }
    }

    /// <summary><c>isaac [OFFLINE: N queued]&gt;</c> while anything waits for the hub, <c>isaac&gt;</c> otherwise.</summary>
    private string PromptText() => _queued > 0 ? $"isaac [OFFLINE: {_queued} queued]>" : "isaac>";

    private async Task<int> ReadLoopAsync(Editor editor, EditorHistory recall, History history, ShellCompletion completion, CancellationToken cancellationToken)
    {
        while (true)
        {
            // The editor blocks its thread in poll(2) until a key or a redraw request comes: off the async flow.
            var typed = await Task.Factory.StartNew(() => editor.ReadLine(), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            if (typed is null)
            {
                return 0;
            }

            // A paste of several lines runs them one after the other, in order, once Enter confirmed it.
            foreach (var line in typed.Split('\n').Select(l => l.TrimEnd()))
            {
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                recall.Add(line);
                history.Append(line);
                if (BuiltIns.TryRun(line, out var exit))
                {
                    if (exit is { } code)
                    {
                        return code;
                    }

                    continue;
                }

                await RunAsync(line, editor);
                if (line.StartsWith('!'))
                {
                    _ = RefreshDevicesAsync(completion, cancellationToken);
                }
            }
        }
    }

    private static async Task RefreshDevicesAsync(ShellCompletion completion, CancellationToken cancellationToken)
    {
        try
        {
            await completion.RefreshDevicesAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or Microsoft.Data.Sqlite.SqliteException)
        {
            // Completion of device names is a convenience: without a list, '!' simply offers nothing.
        }
    }

    private async Task RunAsync(string line, Editor editor)
    {
        CommandResult result;
        using (var running = CancelOnCtrlC.Start(CancellationToken.None))
        {
            result = await host.DispatchAsync(line, interactive: true, Terminal.Detect().Width, Environment.CurrentDirectory, running.Token);
        }

        // A handler here may ask before doing something irreversible (docs/protocol.md, kind "confirm"); another
        // device's answer never has a confirmation, so it is printed below like any text.
        if (result.Confirmation is { } confirmed)
        {
            var question = result.Stdout.TrimEnd();
            var lastLine = question.LastIndexOf('\n');
            if (lastLine >= 0)
            {
                Console.Out.WriteLine(question[..lastLine]);
            }

            var answer = editor.ReadLine(() => $"{question[(lastLine + 1)..]} [y/n] (n):");
            if (answer?.Trim().ToUpperInvariant() is "Y" or "YES")
            {
                await RunAsync(confirmed, editor);
            }

            return;
        }

        ResultPrinter.Print(result, terminal);
        Commands.ReportQueueRecovery(host);

        // Plain commands go to the hub's shared history (unless share_history is off): kept beside the queue while
        // offline, but never counted or announced as queued work.
        await host.ShareIfPlainAsync(line);
    }
}
