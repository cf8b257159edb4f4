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
}
