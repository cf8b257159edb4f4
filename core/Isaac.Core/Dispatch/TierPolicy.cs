using Isaac.Plugins;

namespace Isaac.Core.Dispatch;

/// <summary>Which manifest security tiers may run here. See docs/SECURITY.md.</summary>
public sealed record TierPolicy
{
    /// <summary>Highest tier a person at this device may run. The default is 3 (everything).</summary>
    public int LocalMaxTier { get; init; } = 3;

    /// <summary>Highest tier another device may run here through the hub. The default is 1 (read-only commands).</summary>
    public int RemoteMaxTier { get; init; } = 1;

    public static TierPolicy Default { get; } = new();

    /// <summary>The local limit for a person here, the remote one for any other device, whatever its name.</summary>
    public int MaxTierFor(CommandOrigin origin) => origin.IsLocal ? LocalMaxTier : RemoteMaxTier;
}
