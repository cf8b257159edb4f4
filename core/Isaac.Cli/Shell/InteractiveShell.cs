using Isaac.Core.Dispatch;
using Isaac.Core.Hosting;
using Isaac.Core.Queue;
using RadLine;
using Spectre.Console;

namespace Isaac.Cli.Shell;

/// <summary>The interactive prompt: line editing, persisted history, completion of command names.</summary>
internal sealed class InteractiveShell(IsaacHost host, Terminal terminal)
{
    private const int HistoryLimit = 1000;

    public async Task<int> RunAsync()
    {
        var editor = new LineEditor(source: new TerminalInput())
        {
            Prompt = new ShellPrompt(PromptText),
            Completion = new CommandCompletion(host.Commands.Select(d => d.Usage)),
        };
        // A one-line prompt: arrows walk the history as in bash, and the readline staples work.
        editor.KeyBindings.Add<PreviousHistoryCommand>(ConsoleKey.UpArrow);
        editor.KeyBindings.Add<NextHistoryCommand>(ConsoleKey.DownArrow);
        editor.KeyBindings.Add<PreviousHistoryCommand>(ConsoleKey.P, ConsoleModifiers.Control);
        editor.KeyBindings.Add<NextHistoryCommand>(ConsoleKey.N, ConsoleModifiers.Control);
        editor.KeyBindings.Add<MoveHomeCommand>(ConsoleKey.A, ConsoleModifiers.Control);
        editor.KeyBindings.Add<MoveEndCommand>(ConsoleKey.E, ConsoleModifiers.Control);

        var history = new History(host.Settings.HistoryPath, HistoryLimit);
        foreach (var line in history.Load())
        {
            editor.History.Add(line);
        }

        // Opening the queue now means a corrupt file is reported before the first command.
        await host.GetQueueStatusAsync();
        Commands.ReportQueueRecovery(host);

        // The prompt follows the queue's status stream; nothing here polls the database.
        using var queueWatch = host.QueueChanges.Subscribe(status => _queued = status.Queued);
        using var syncNotices = host.SyncEvents.Subscribe(synced => Notify(synced.ToString()));
        using var deadNotices = host.DeadLetters.Subscribe(dead => Notify(dead.ToString()), error => Notify($"isaac: warning: dead-letter notices stopped: {error.Message}"));
        host.StartSync();

        // With a hub configured this shell is also a device: it serves routed commands and shows routed results as they arrive.
        using var background = new CancellationTokenSource();
        var device = host.CreateAgent(capacity: 4);
        using var agentNotices = device?.Notices.Subscribe(notice => Notify($"isaac: warning: {notice}"));
        var agent = device?.RunAsync(background.Token) ?? Task.CompletedTask;
        await using var inbox = host.StartResultInbox(Notify);
        try
        {
            return await ReadLoopAsync(editor, history);
        }
        finally
        {
            await background.CancelAsync();
            await agent;
        }
    }

    private volatile int _queued;

    /// <summary><c>isaac [OFFLINE: N queued]&gt;</c> while anything waits for the hub, <c>isaac&gt;</c> otherwise.</summary>
    private string PromptText() => _queued > 0 ? $"isaac [OFFLINE: {_queued} queued]>" : "isaac>";

    /// <summary>Prints a line above the prompt; the line being typed is redrawn at the next key.</summary>
    private void Notify(string message)
    {
        lock (Console.Out)
        {
            Console.Out.Write($"\r\u001b[2K{message.TrimEnd()}\n\u001b[1m{PromptText()}\u001b[0m ");
        }
    }

    private async Task<int> ReadLoopAsync(LineEditor editor, History history)
    {
        while (true)
        {
            history.Trim(editor.History);
            string? line;
            using (var reading = CancelOnCtrlC.Start(CancellationToken.None))
            {
                try
                {
                    line = await editor.ReadLine(reading.Token);
                    if (line is null)
                    {
                        // RadLine answers a Ctrl-C it notices between keys with null, as it answers the end of input.
                        reading.Token.ThrowIfCancellationRequested();
                    }
                }
                catch (OperationCanceledException)
                {
                    AnsiConsole.WriteLine("^C");
                    continue;
                }
            }

            if (line is null)
            {
                return 0;
            }

            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            history.Append(line);
            if (BuiltIns.TryRun(line, out var exit))
            {
                if (exit is { } code)
                {
                    return code;
                }

                continue;
            }

            await RunAsync(line);
        }
    }

    private async Task RunAsync(string line)
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
            var question = new ConfirmationPrompt(Markup.Escape(result.Stdout.TrimEnd())) { DefaultValue = false };
            if (await question.ShowAsync(AnsiConsole.Console, CancellationToken.None))
            {
                await RunAsync(confirmed);
            }

            return;
        }

        ResultPrinter.Print(result, terminal);
        Commands.ReportQueueRecovery(host);

        // Plain commands go to the hub's shared history (unless share_history is off): kept beside the queue while
        // offline, but never counted or announced as queued work.
        await host.ShareIfPlainAsync(line);
    }

    private sealed class ShellPrompt(Func<string> text) : ILineEditorPrompt
    {
        public (Markup Markup, int Margin) GetPrompt(ILineEditorState state, int line) => (new Markup($"[bold]{Markup.Escape(text())}[/]"), 1);
    }

    private sealed class CommandCompletion(IEnumerable<string> usages) : ITextCompletion
    {
        private readonly string[] _usages = usages.Order(StringComparer.Ordinal).ToArray();

        // Only the first word of a line is a command name.
        public IEnumerable<string> GetCompletions(string prefix, string word, string suffix) =>
            string.IsNullOrWhiteSpace(prefix) && word.StartsWith('/')
                ? _usages.Where(u => u.StartsWith(word, StringComparison.Ordinal))
                : [];
    }
}
