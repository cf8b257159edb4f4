namespace Isaac.Plugins;

/// <summary>What the host offers a plugin handler besides the request.</summary>
public sealed record HandlerContext
{
    /// <summary>Every command the host has loaded, in name order.</summary>
    public IReadOnlyList<CommandDescriptor> Commands { get; init; } = [];

    /// <summary>The durable command queue, or null when the host runs without one.</summary>
    public ICommandQueue? Queue { get; init; }

    /// <summary>Routes commands to other devices in the order they are given (through the queue and the hub); null when the host runs without a queue.</summary>
    public IDeviceRoutes? Routes { get; init; }

    /// <summary>The hub, or null when no hub is configured (ISAAC_HUB).</summary>
    public IHub? Hub { get; init; }

    /// <summary>The sync pipeline, or null when no hub is configured.</summary>
    public ISync? Sync { get; init; }
}
