namespace Isaac.Plugins;

/// <summary>The durable queue of commands waiting for the hub, as the host offers it to plugins.</summary>
public interface ICommandQueue
{
    /// <summary>Counts by state and the time of the last successful sync.</summary>
    Task<QueueStatus> GetStatusAsync(CancellationToken cancellationToken = default);

    /// <summary>Commands in one view, oldest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<QueuedCommand>> ListAsync(QueueView view, int limit, CancellationToken cancellationToken = default);

    /// <summary>Makes a failed or dead command (or all of them when <paramref name="id"/> is null) due now; returns how many.</summary>
    Task<int> RetryAsync(long? id, CancellationToken cancellationToken = default);

    /// <summary>Removes a waiting, failed or dead command for good; false when there is none with that id.</summary>
    Task<bool> DropAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Keeps a command for the hub; returns its id (<c>#N</c>). <paramref name="type"/> is meta, shell or device_route.</summary>
    Task<long> EnqueueAsync(string type, string text, string? target, string uniqueKey, CancellationToken cancellationToken = default);

    /// <summary>Remembers a routed command whose result is still to come, for the result inbox.</summary>
    Task TrackRoutedAsync(RoutedCommand command, CancellationToken cancellationToken = default);

    /// <summary>Routed commands this device sent and is tracking, newest first, with their results once known.</summary>
    Task<IReadOnlyList<RoutedCommand>> ListRoutedAsync(int limit, CancellationToken cancellationToken = default);
}
