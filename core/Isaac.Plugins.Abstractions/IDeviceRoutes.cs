namespace Isaac.Plugins;

/// <summary>The one path from this device to another: ordered, durable, delivered through the hub.</summary>
public interface IDeviceRoutes
{
    /// <summary>
    /// Keeps the command in this device's queue behind any older ones for the same device, delivers it through the hub
    /// when the hub answers, and waits for its result until <see cref="RouteRequest.Deadline"/>. Never throws for an
    /// unreachable hub: the command then waits in the queue (<see cref="RouteStatus.Queued"/>).
    /// </summary>
    Task<RouteOutcome> RouteAsync(RouteRequest request, CancellationToken cancellationToken = default);

    /// <summary>Every device: online or last seen, and its queued and in-flight commands; the last known list when the hub cannot be reached.</summary>
    Task<DeviceList> ListDevicesAsync(CancellationToken cancellationToken = default);
}
