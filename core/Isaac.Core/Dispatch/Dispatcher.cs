using Isaac.Core.Execution;
using Isaac.Core.Manifests;
using Isaac.Core.Plugins;
using Isaac.Plugins;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Isaac.Core.Dispatch;

/// <summary>Turns one line of input into a result: classify, match, bind, check the tier, run the handler.</summary>
internal sealed class Dispatcher(
    CommandCatalog catalog,
    IHandlerRunner scripts,
    IHandlerRunner plugins,
    TierPolicy? policy = null,
    TimeProvider? time = null,
    ILogger<Dispatcher>? logger = null)
{
    /// <summary>The trigger prefix of device routes: a command triggered by <c>!</c> carries a line to another device.</summary>
    public const string RoutePrefix = "!";

    /// <summary>Asks any command for its help, from its manifest.</summary>
    public const string HelpFlag = "--help";

    private readonly TierPolicy _policy = policy ?? TierPolicy.Default;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ILogger _logger = logger ?? NullLogger<Dispatcher>.Instance;
    private readonly TerminalShell _shell = new();

    public CommandCatalog Catalog => catalog;

    public async Task<CommandResult> DispatchAsync(string line, SessionInfo session, string workingDirectory, CancellationToken cancellationToken = default)
    {
        var input = ParsedInput.Parse(line, catalog);
        try
        {
            return input switch
            {
                { Kind: InputKind.Meta, Match: { Trigger.Spec.Prefix: RoutePrefix } } when session.Origin.IsRemote => CommandResult.Failure(input.Match.Command.Name, ErrorCode.Denied,
                    $"A command routed here from device '{session.Origin.Device}' cannot be routed on ('{input.Text}')."),
                { Kind: InputKind.Meta, Match: { } match } => await RunAsync(match, input.Text, session, workingDirectory, cancellationToken).ConfigureAwait(false),
                { Kind: InputKind.Route, Device: { } device } => CommandResult.Failure(null, ErrorCode.NotFound,
                    $"Cannot route to '{device}': no installed command has a '{RoutePrefix}' trigger to carry '!device' routes (the built-in one is manifests/device-route)."),
                { Kind: InputKind.UnknownMeta } => NotFound(input.Text),
                { Kind: InputKind.Shell } => await ShellAsync(input.Text, session, workingDirectory, cancellationToken).ConfigureAwait(false),
                _ => new CommandResult(),
            };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _logger.LogInformation("Cancelled: {Line}", input.Text);
            return CommandResult.Failure(input.Match?.Command.Name, ErrorCode.Cancelled, $"Cancelled: {input.Text}");
        }
    }

    /// <summary>Runs a matched meta-command: the core of dispatch, also used for routed commands arriving from the hub.</summary>
    public async Task<CommandResult> RunAsync(CommandMatch match, string text, SessionInfo session, string workingDirectory, CancellationToken cancellationToken = default)
    {
        var command = match.Command;
        var maxTier = _policy.MaxTierFor(session.Origin);
        if (command.Manifest.Security.Tier > maxTier)
        {
            var who = session.Origin.IsLocal ? "from this device" : $"from remote devices ('{session.Origin.Device}')";
            return CommandResult.Failure(command.Name, ErrorCode.Denied,
                $"Command '{command.Name}' is tier {command.Manifest.Security.Tier}, but this device runs at most tier {maxTier} {who}. See docs/SECURITY.md to change the policy.");
        }

        if (ArgumentWords.Split(match.ArgsText) is not { } words)
        {
            return CommandResult.Failure(command.Name, ErrorCode.BadArguments, $"Command '{command.Name}': a quote in '{match.ArgsText}' is never closed.");
        }

        // --help is answered from the manifest for every command: a handler never sees it (it may not know it).
        if (words.Contains(HelpFlag) || words.Contains("-h"))
        {
            return new CommandResult { Command = command.Name, Stdout = command.Help() };
        }

        // A command that lists its flags refuses any other: a typo ("--jsn") must not silently do the default.
        var flags = command.Manifest.Flags;
        if (flags is not null && words.FirstOrDefault(w => w.StartsWith("--", StringComparison.Ordinal) && w.Length > 2 && flags.All(f => f.Name != w)) is { } unknown)
        {
            var known = string.Join(", ", flags.Select(f => f.Name).Append(HelpFlag));
            return CommandResult.Failure(command.Name, ErrorCode.BadArguments,
                $"Command '{command.Name}' does not know the flag '{unknown}'; it knows {known}. Type /{command.Name} --help.");
        }

        // Declared flags are not positional arguments: "/sysinfo --json" leaves 'format' unset.
        IReadOnlyList<string> positional = flags is null ? words : [.. words.Where(w => flags.All(f => f.Name != w))];
        var arguments = new Dictionary<string, string>(StringComparer.Ordinal);
        var specs = command.Manifest.Arguments;
        for (var i = 0; i < specs.Length; i++)
        {
            if (i < positional.Count)
            {
                arguments[specs[i].Name] = positional[i];
            }
            else if (specs[i].Required)
            {
                return CommandResult.Failure(command.Name, ErrorCode.BadArguments,
                    $"Command '{command.Name}' needs argument '{specs[i].Name}'{(specs[i].Description.Length > 0 ? $" ({specs[i].Description})" : "")}. Usage: {command.Usage}");
            }
        }

        var request = new CommandRequest
        {
            Command = command.Name,
            Text = text,
            Captures = match.Captures,
            Args = words,
            Arguments = arguments,
            WorkingDirectory = workingDirectory,
            Session = session,
            Deadline = _time.GetUtcNow() + command.Timeout,
        };

        // A task is not run here: whoever serves routed commands (the device agent) wakes and watches it, durably.
        if (command.Kind == HandlerKind.Task)
        {
            return session.Origin.IsLocal
                ? CommandResult.Failure(command.Name, ErrorCode.BadArguments,
                    $"'{command.Name}' is a task: it runs on a device's agent, so route it (!<device> {text}); see docs/tasks.md.")
                : new CommandResult { Command = command.Name, Task = new TaskStart(command, request) };
        }

        var started = _time.GetTimestamp();
        try
        {
            var runner = command.Kind == HandlerKind.Plugin ? plugins : scripts;
            var response = await runner.RunAsync(command, request, cancellationToken).ConfigureAwait(false);
            _logger.LogDebug("Ran {Command} ({Status}) in {Elapsed}", command.Name, response.Status, _time.GetElapsedTime(started));
            return CommandResult.From(command.Name, response, AnsweredBy(match));
        }
        catch (HandlerException ex)
        {
            _logger.LogWarning("{Command} failed: {Failure} {Message}", command.Name, ex.Failure, ex.Message);
            return CommandResult.Failure(command.Name, ex.Failure, ex.Message, ex.PartialStdout, ex.ExitCode);
        }
        catch (PluginLoadException ex)
        {
            _logger.LogError(ex, "Plugin for {Command} failed to load", command.Name);
            return CommandResult.Failure(command.Name, ErrorCode.HandlerFailed, ex.Message);
        }
    }

    // A command with a '!' trigger carries lines to other devices: what it returns is the other device's answer.
    private static CommandOrigin AnsweredBy(CommandMatch match) =>
        match.Command.Manifest.Triggers.Any(t => t.Prefix == RoutePrefix)
            ? CommandOrigin.Remote(match.Captures.GetValueOrDefault("device") ?? "")
            : CommandOrigin.Local;

    private async Task<CommandResult> ShellAsync(string text, SessionInfo session, string workingDirectory, CancellationToken cancellationToken)
    {
        if (session.Origin.IsRemote)
        {
            return CommandResult.Failure(null, ErrorCode.Denied, $"Plain shell commands never run for remote devices ('{session.Origin.Device}'); route a meta-command instead.");
        }

        var exitCode = await _shell.RunAsync(text, workingDirectory, cancellationToken).ConfigureAwait(false);
        return exitCode == 0
            ? new CommandResult { ExitCode = 0 }
            : new CommandResult { Status = ResponseStatus.Error, ExitCode = exitCode };
    }

    private CommandResult NotFound(string text)
    {
        var name = text.Split(' ', 2)[0].TrimStart('/');
        var closest = catalog.Commands.Select(c => c.Name).MinBy(n => EditDistance(n, name));
        // A command whose manifest failed to load is unknown too, but the user deserves to know why.
        var broken = catalog.Problems.FirstOrDefault(p => Path.GetFileName(Path.GetDirectoryName(p.File)) == name);
        var hint = broken is not null ? $" Its manifest did not load: {broken}"
            : closest is not null && EditDistance(closest, name) <= 2 ? $" Did you mean '/{closest}'?"
            : "";
        return CommandResult.Failure(null, ErrorCode.NotFound, $"Unknown command '/{name}'.{hint} Type /help to list commands.");
    }

    private static int EditDistance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            previous = current;
        }

        return previous[b.Length];
    }
}
