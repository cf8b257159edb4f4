namespace Isaac.Plugins;

/// <summary>The sync pipeline that delivers queued commands to the hub, as the host offers it to plugins.</summary>
public interface ISync
{
    /// <summary>Checks the hub now and, if it answers, delivers everything that is due; reports what happened.</summary>
    Task<SyncReport> SyncNowAsync(CancellationToken cancellationToken = default);
}

/// <summary>What one forced sync did.</summary>
public sealed record SyncReport
{
    /// <summary>Whether the hub answered.</summary>
    public required bool HubAvailable { get; init; }

    /// <summary>Commands delivered by this sync.</summary>
    public int Synced { get; init; }

    /// <summary>Commands still queued afterwards (waiting, failed or in another process's hands).</summary>
    public int Remaining { get; init; }

    /// <summary>Why nothing was delivered, when nothing was.</summary>
    public string? Reason { get; init; }
}
