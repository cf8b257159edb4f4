namespace Isaac.Core.Queue;

/// <summary>The kinds of command the queue holds (DESIGN §4).</summary>
internal static class CommandType
{
    public const string Meta = "meta";

    /// <summary>Only in queues written before shared history had its own table; moved there on upgrade.</summary>
    public const string Shell = "shell";
    public const string DeviceRoute = "device_route";
}

/// <summary>A command to keep until the hub can take it.</summary>
internal sealed record EnqueueRequest
{
    /// <summary>One of <see cref="CommandType"/>.</summary>
    public required string Type { get; init; }

    public required string Text { get; init; }

    /// <summary>The device it is for; null for this device.</summary>
    public string? Target { get; init; }

    /// <summary>May be delivered together with neighbouring parallel commands; a sequential one is a barrier.</summary>
    public bool Parallel { get; init; }

    /// <summary>JSON with facts such as the tier and the validation result.</summary>
    public string? Metadata { get; init; }

    /// <summary>Identifies the command to the hub, which drops repeats. A new one is made when absent.</summary>
    public string? UniqueKey { get; init; }

    /// <summary>After this the command expires to the dead letters instead of running late.</summary>
    public TimeSpan? TimeToLive { get; init; }

    /// <summary>Only the newest queued command with this key (and target) is kept.</summary>
    public string? CoalesceKey { get; init; }
}

/// <summary>What an enqueue did.</summary>
/// <param name="Id">The new command's id.</param>
/// <param name="Coalesced">Older queued commands it replaced.</param>
/// <param name="OverSoftLimit">The queue now holds more than <see cref="QueueOptions.SoftLimit"/> commands.</param>
/// <param name="Ahead">Undelivered commands for the same target queued before it (read in the same transaction).</param>
internal sealed record EnqueueResult(long Id, int Coalesced, bool OverSoftLimit, int Ahead);

/// <summary>A command claimed for delivery (now "syncing").</summary>
internal sealed record ClaimedCommand(long Id, string Type, string Text, string? Target, string UniqueKey, bool Parallel, int Attempts, string? Metadata);

/// <summary>Where a queued command stands.</summary>
/// <param name="Status">pending, syncing, failed, done, dead, or gone (dropped).</param>
/// <param name="HubId">The hub's id once delivered.</param>
/// <param name="Error">The last delivery error, or the final one of a dead letter.</param>
internal sealed record QueuedState(string Status, string? HubId, string? Error);

/// <summary>A command that moved to the dead letters, for telling the person.</summary>
public sealed record DeadLetter(long Id, string Text, string? Target, string Error, DateTimeOffset FailedAt)
{
    public override string ToString() =>
        $"#{Id} {(Target is null ? "" : $"for {Target} ")}'{Text}' moved to the dead letters: {Error}. /queue dead lists it; /queue retry {Id} tries again.";
}

/// <summary>Consecutive commands for one target, oldest first, to deliver together.</summary>
internal sealed record ClaimedBatch(string? Target, IReadOnlyList<ClaimedCommand> Commands);
