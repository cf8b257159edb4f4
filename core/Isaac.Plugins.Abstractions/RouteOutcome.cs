namespace Isaac.Plugins;

/// <summary>How the hub answered a route request.</summary>
public enum RouteStatus
{
    /// <summary>The hub took it; see <see cref="RouteOutcome.Command"/>.</summary>
    Accepted,

    /// <summary>The hub could not be reached; nothing was delivered.</summary>
    Unavailable,

    /// <summary>The hub refused this device's token.</summary>
    Unauthorized,

    /// <summary>The hub refused the request; see <see cref="RouteOutcome.Reason"/>.</summary>
    Rejected,

    /// <summary>Kept in this device's queue (the hub is away, or older commands for the device go first); see <see cref="RouteOutcome.QueuedId"/>.</summary>
    Queued,
}

/// <summary>The hub's answer to a route request.</summary>
public sealed record RouteOutcome
{
    /// <summary>What happened.</summary>
    public required RouteStatus Status { get; init; }

    /// <summary>The routed command when accepted.</summary>
    public RoutedCommand? Command { get; init; }

    /// <summary>Why it was not accepted, or why it waits.</summary>
    public string? Reason { get; init; }

    /// <summary>Its id in this device's queue (<c>#N</c>) when it waits there.</summary>
    public long? QueuedId { get; init; }

    /// <summary>Older commands for the same device that were still waiting when it was queued; they run first.</summary>
    public int Ahead { get; init; }

    /// <summary>The command is a long-running task: its result comes later, through the result inbox (docs/tasks.md).</summary>
    public bool IsTask { get; init; }
}

/// <summary>A command routed through the hub, with its state and, when finished, its result.</summary>
public sealed record RoutedCommand
{
    /// <summary>The hub's id for it.</summary>
    public required string Id { get; init; }

    /// <summary>The device that runs it.</summary>
    public required string Target { get; init; }

    /// <summary>The command line.</summary>
    public required string Text { get; init; }

    /// <summary>accepted, assigned, device_accepted, running, completed, failed, rejected or in_doubt.</summary>
    public required string Status { get; init; }

    /// <summary>Whether the target device was connected to the hub when this was read.</summary>
    public bool TargetOnline { get; init; }

    /// <summary>
    /// The result, once completed or failed on the device. It is another device's answer, so it is inert here: a
    /// <c>confirm</c> (or any kind but <c>json</c>) reads as <c>text</c>, and the line it asked to run is only named,
    /// as the route to run it there (meta <c>remote_confirm</c>, for example <c>!laptop2 /x --yes</c>).
    /// </summary>
    public CommandResponse? Result
    {
        get => _result is null ? null : Inert(_result);
        init => _result = value;
    }

    private readonly CommandResponse? _result;

    /// <summary>Why it failed or was rejected, when the device said.</summary>
    public string? Error { get; init; }

    /// <summary>For a task command while it runs: waking, waking_confirmation or working; null otherwise.</summary>
    public string? Phase { get; init; }

    /// <summary>When the hub last recorded a change of it (for a task: when its phase began); null if not known.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Whether it has reached a final state.</summary>
    public bool IsFinished => Status is "completed" or "failed" or "rejected" or "in_doubt";

    // Nothing a remote device answers may become a question (and a command run) at this device's prompt, whichever
    // code reads it: the answer is made inert here, where every remote result passes, not by each reader.
    private CommandResponse Inert(CommandResponse answer)
    {
        var kind = answer.Kind == "json" ? "json" : "text";
        if (answer.Kind == kind && !answer.Meta.ContainsKey(Confirm))
        {
            return answer;
        }

        var meta = answer.Meta.Where(pair => pair.Key != Confirm).ToDictionary(pair => pair.Key, pair => pair.Value);
        var stdout = answer.Stdout;
        if (answer.Meta.TryGetValue(Confirm, out var line) && line.ReplaceLineEndings(" ").Trim() is { Length: > 0 } asked)
        {
            meta[RemoteConfirm] = $"!{Target} {asked}";
            stdout = $"{stdout.TrimEnd('\n')}\n({Target} asked to confirm; nothing runs on this device. To go ahead, run it there: !{Target} {asked})\n".TrimStart('\n');
        }

        return answer with { Kind = kind, Meta = meta, Stdout = stdout };
    }

    private const string Confirm = "confirm";
    private const string RemoteConfirm = "remote_confirm";
}
