namespace Isaac.Hub;

/// <summary>How <c>isaac hub</c> runs. Vary with <c>with { … }</c>.</summary>
public sealed record HubOptions
{
    /// <summary>Where hub.db lives. The default is <c>&lt;ISAAC_HOME&gt;/hub</c> (set by the caller).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>
    /// A PostgreSQL connection string (<c>Host=…;Database=…</c>): the hub keeps its state there instead of in hub.db,
    /// and any number of hubs given the same one share it (docs/scale-out.md). The default is null: SQLite in
    /// <see cref="DataDirectory"/>.
    /// </summary>
    public string? Store { get; init; }

    /// <summary>
    /// How long a hub's claim on a connected device lasts in a shared store without renewal; a hub that dies loses
    /// its devices to the other hubs after this. Renewed every third of it. The default is 10 s.
    /// </summary>
    public TimeSpan PresenceLease { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The bound on a lost LISTEN/NOTIFY hint: this often the hub looks for waiting work of its devices, and
    /// long-polls read their command again. The default is 1 s.
    /// </summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the hub waits before listening again after its LISTEN connection broke. The default is 1 s.</summary>
    public TimeSpan ListenRetry { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Addresses to listen on. The default is loopback only.</summary>
    public string Urls { get; init; } = "http://127.0.0.1:5080";

    /// <summary>Largest HTTP request body. The default is 64 KiB.</summary>
    public long MaxRequestBytes { get; init; } = 64 * 1024;

    /// <summary>Largest WebSocket message from an agent (results included). The default is 4 MiB.</summary>
    public int MaxAgentMessageBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Longest command text accepted for routing. The default is 8 KiB.</summary>
    public int MaxCommandChars { get; init; } = 8 * 1024;

    /// <summary>
    /// How often an agent pings when its hello does not say, and before its hello arrives; after two of these with
    /// nothing from it the agent is dropped and its device is offline. The default is 5 s (docs/hub-protocol.md).
    /// </summary>
    public TimeSpan DefaultHeartbeat { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long after a device's agent connection ends the hub keeps the device for the agent store that holds its
    /// unfinished commands: a connection from another store (another machine with the same token) is given nothing
    /// and closed at its first ping, so the holder can take the lease back. Past this, the newcomer is served
    /// anyway (the holder may be gone for good). The default is 2 minutes.
    /// </summary>
    public TimeSpan HolderGrace { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>WebSocket keep-alive pings to agents. The default is 15 s.</summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(15);
}
