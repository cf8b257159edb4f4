namespace Isaac.Core.Devices;

/// <summary>Where a <see cref="DeviceAgent"/> is in its life.</summary>
public enum AgentState
{
    /// <summary>Started, not yet holding the machine's agent lock.</summary>
    Starting,

    /// <summary>Another process on this machine serves the device; this one waits to take over.</summary>
    WaitingForLock,

    /// <summary>Holds the lock and serves the device, but has no hub connection right now.</summary>
    Disconnected,

    /// <summary>Connected to the hub and greeted it.</summary>
    Connected,

    /// <summary>Stopped; the lock is released.</summary>
    Stopped,
}
