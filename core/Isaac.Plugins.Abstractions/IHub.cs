namespace Isaac.Plugins;

/// <summary>The hub that carries commands between devices, as the host offers it to plugins.</summary>
public interface IHub
{
    /// <summary>Asks the hub to run <see cref="RouteRequest.Text"/> on another device; never throws for an unreachable hub.</summary>
    Task<RouteOutcome> RouteAsync(RouteRequest request, CancellationToken cancellationToken = default);

    /// <summary>The routed command once it has finished, or its latest state when <paramref name="timeout"/> passes; null when the hub cannot say.</summary>
    Task<RoutedCommand?> WaitAsync(string id, TimeSpan timeout, CancellationToken cancellationToken = default);
}
