namespace Isaac.Core.Devices;

/// <summary>How a device agent connects to the hub and runs what it is sent. Vary with <c>with { … }</c>.</summary>
internal sealed record AgentOptions
{
    /// <summary>The hub's HTTP address (ISAAC_HUB); the agent connects to its <c>/v1/agent</c> WebSocket.</summary>
    public required Uri Hub { get; init; }

    /// <summary>More hubs sharing <see cref="Hub"/>'s store (ISAAC_HUB lists them after a comma): after a failed or ended connection the agent tries the next. The default is none.</summary>
    public IReadOnlyList<Uri> OtherHubs { get; init; } = [];

    /// <summary>This device's token (ISAAC_TOKEN), from <c>isaac hub add-device</c>.</summary>
    public required string Token { get; init; }

    /// <summary>This device's name (ISAAC_DEVICE), used in messages.</summary>
    public required string Device { get; init; }

    /// <summary>ISAAC_HOME: the agent keeps <c>agent.db</c> and <c>agent.lock</c> here.</summary>
    public required string Home { get; init; }

    /// <summary>Parallel commands run at once; sequential commands always run alone. The default is 4.</summary>
    public int Capacity { get; init; } = 4;

    /// <summary>
    /// Unfinished commands the hub may hand over at once; they wait their turn here, and more are rejected as busy. The
    /// default is 128: with 32, a replayed backlog stalled while the hub stored a report and refilled the window
    /// (docs/BENCHMARKS.md, "Delivery": 850/s against 1,100/s end to end).
    /// </summary>
    public int Window { get; init; } = 128;

    /// <summary>First delay before reconnecting; it doubles (with jitter) up to <see cref="MaxReconnect"/>. The default is 0.5 s.</summary>
    public TimeSpan MinReconnect { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest delay between reconnection attempts. The default is 30 s.</summary>
    public TimeSpan MaxReconnect { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Refusals of this device's token (401/403) in a row after which the agent stops, saying so. The default is 3.</summary>
    public int MaxTokenRefusals { get; init; } = 3;

    /// <summary>The agent pings the hub this often; a hub silent for twice this long is treated as gone. The default is 5 s.</summary>
    public TimeSpan Heartbeat { get; init; } = DefaultHeartbeat;

    /// <summary>The heartbeat the hub assumes for an agent that does not say: 5 s.</summary>
    public static TimeSpan DefaultHeartbeat { get; } = TimeSpan.FromSeconds(5);

    /// <summary>How often an agent waiting for another process on this machine to stop serving the device tries again. The default is 2 s.</summary>
    public TimeSpan LockRetry { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The agent database, <c>&lt;Home&gt;/agent.db</c>.</summary>
    public string StorePath => Path.Combine(Home, "agent.db");

    /// <summary>The lock that makes one process per machine the device's server, <c>&lt;Home&gt;/agent.lock</c>.</summary>
    public string LockPath => Path.Combine(Home, "agent.lock");

    internal void Validate()
    {
        if (Capacity < 1)
        {
            throw new ArgumentException($"Capacity must be at least 1; it is {Capacity}.", nameof(Capacity));
        }

        if (Window < 1)
        {
            throw new ArgumentException($"Window must be at least 1; it is {Window}.", nameof(Window));
        }

        if (Heartbeat <= TimeSpan.Zero)
        {
            throw new ArgumentException($"Heartbeat must be positive; it is {Heartbeat}.", nameof(Heartbeat));
        }

        if (MinReconnect <= TimeSpan.Zero || MaxReconnect < MinReconnect)
        {
            throw new ArgumentException($"MinReconnect ({MinReconnect}) must be positive and at most MaxReconnect ({MaxReconnect}).", nameof(MinReconnect));
        }

        if (MaxTokenRefusals < 1)
        {
            throw new ArgumentException($"MaxTokenRefusals must be at least 1; it is {MaxTokenRefusals}.", nameof(MaxTokenRefusals));
        }

        if (LockRetry <= TimeSpan.Zero)
        {
            throw new ArgumentException($"LockRetry must be positive; it is {LockRetry}.", nameof(LockRetry));
        }
    }
}
