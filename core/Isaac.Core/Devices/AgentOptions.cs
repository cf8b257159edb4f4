namespace Isaac.Core.Devices;

/// <summary>How a device agent connects to the hub. Vary with <c>with { … }</c>.</summary>
internal sealed record AgentOptions
{
    /// <summary>The hub's HTTP address (ISAAC_HUB); the agent connects to its <c>/v1/agent</c> WebSocket.</summary>
    public required Uri Hub { get; init; }

    /// <summary>This device's token (ISAAC_TOKEN), from <c>isaac hub add-device</c>.</summary>
    public required string Token { get; init; }

    /// <summary>Commands run at once; more are rejected as busy. The default is 4.</summary>
    public int Capacity { get; init; } = 4;

    /// <summary>First delay before reconnecting; it doubles (with jitter) up to <see cref="MaxReconnect"/>. The default is 0.5 s.</summary>
    public TimeSpan MinReconnect { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest delay between reconnection attempts. The default is 30 s.</summary>
    public TimeSpan MaxReconnect { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>WebSocket ping interval; a hub silent for twice this long is treated as gone. The default is 15 s.</summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(15);
}
