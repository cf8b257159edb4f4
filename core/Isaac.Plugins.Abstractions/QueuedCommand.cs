namespace Isaac.Plugins;

/// <summary>One command in the queue or the dead-letter table.</summary>
public sealed record QueuedCommand
{
    /// <summary>The queue id shown to users (<c>#N</c>); a dead letter keeps its original id.</summary>
    public required long Id { get; init; }

    /// <summary><c>meta</c>, <c>shell</c> or <c>device_route</c>.</summary>
    public required string Type { get; init; }

    /// <summary>The command line as typed.</summary>
    public required string Text { get; init; }

    /// <summary>The device it is for, or null for this device.</summary>
    public string? Target { get; init; }

    /// <summary><c>pending</c>, <c>syncing</c>, <c>failed</c> or <c>dead</c>.</summary>
    public required string Status { get; init; }

    /// <summary>When it was queued.</summary>
    public required DateTimeOffset QueuedAt { get; init; }

    /// <summary>How many delivery attempts failed.</summary>
    public int Attempts { get; init; }

    /// <summary>The error of the last failed attempt.</summary>
    public string? LastError { get; init; }

    /// <summary>When the next attempt may happen (null for dead letters).</summary>
    public DateTimeOffset? NextAttemptAt { get; init; }
}
