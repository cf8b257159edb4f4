namespace Isaac.Core.Sync;

/// <summary>Whether the hub answers, why we think so, and since when.</summary>
internal sealed record Connectivity(bool Online, string Reason, DateTimeOffset Since)
{
    public static Connectivity Unknown { get; } = new(false, "not checked yet", DateTimeOffset.MinValue);
}

/// <summary>How often the hub is probed. Vary with <c>with { … }</c>.</summary>
public sealed record ConnectivityOptions
{
    /// <summary>Probe interval while online. The default is 30 s (the original design).</summary>
    public TimeSpan OnlineProbeInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>First probe delay while offline with work waiting; it doubles (with jitter) up to <see cref="OfflineProbeMax"/>. The default is 1 s.</summary>
    public TimeSpan OfflineProbeMin { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest probe delay while offline with work waiting (jittered down to half of it, so many shells never probe in step). The default is 8 s: the drain starts a few seconds after the hub is back.</summary>
    public TimeSpan OfflineProbeMax { get; init; } = TimeSpan.FromSeconds(8);

    public static ConnectivityOptions Default { get; } = new();
}
