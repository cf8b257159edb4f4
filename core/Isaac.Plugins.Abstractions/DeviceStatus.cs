namespace Isaac.Plugins;

/// <summary>One device as this one sees it: the hub's view of it, and what waits here for it.</summary>
public sealed record DeviceStatus
{
    /// <summary>The device's name, as used in <c>!name</c> routes.</summary>
    public required string Name { get; init; }

    /// <summary>Whether an agent serves the device at the hub right now.</summary>
    public bool Online { get; init; }

    /// <summary>When the hub last heard from the device; null if never.</summary>
    public DateTimeOffset? LastSeen { get; init; }

    /// <summary>Commands waiting at the hub for the device.</summary>
    public int QueuedAtHub { get; init; }

    /// <summary>Commands the device has taken and not finished.</summary>
    public int InFlight { get; init; }

    /// <summary>Long-running task commands among <see cref="InFlight"/> (waking, waiting for confirmation, or working).</summary>
    public int Tasks { get; init; }

    /// <summary>When the oldest of those tasks entered its current phase; null without tasks.</summary>
    public DateTimeOffset? OldestTaskSince { get; init; }

    /// <summary>Commands for the device still in this device's queue.</summary>
    public int WaitingHere { get; init; }
}

/// <summary>Every device known to the hub (or, when the hub cannot be reached, the last list it gave).</summary>
public sealed record DeviceList
{
    /// <summary>The devices, in name order.</summary>
    public IReadOnlyList<DeviceStatus> Devices { get; init; } = [];

    /// <summary>True when the list comes from the hub now; false when it is the last known one.</summary>
    public bool Live { get; init; }

    /// <summary>When the hub gave this list; null if it never did.</summary>
    public DateTimeOffset? AsOf { get; init; }

    /// <summary>Why the list is not live.</summary>
    public string? Reason { get; init; }
}
