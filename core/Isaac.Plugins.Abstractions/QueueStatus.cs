namespace Isaac.Plugins;

/// <summary>A snapshot of the queue's counts.</summary>
public sealed record QueueStatus
{
    /// <summary>Commands never attempted yet.</summary>
    public int Pending { get; init; }

    /// <summary>Commands being sent right now.</summary>
    public int Syncing { get; init; }

    /// <summary>Commands that failed and wait for their next attempt.</summary>
    public int Failed { get; init; }

    /// <summary>Commands in the dead-letter table.</summary>
    public int Dead { get; init; }

    /// <summary>Delivered commands still kept (for 7 days).</summary>
    public int Done { get; init; }

    /// <summary>When a command was last delivered, if ever.</summary>
    public DateTimeOffset? LastSyncAt { get; init; }

    /// <summary>Everything not yet delivered and not dead: what the prompt shows as queued.</summary>
    public int Queued => Pending + Syncing + Failed;
}
