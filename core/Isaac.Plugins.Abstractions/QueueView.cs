namespace Isaac.Plugins;

/// <summary>Which commands <see cref="ICommandQueue.ListAsync"/> returns.</summary>
public enum QueueView
{
    /// <summary>Everything still to be delivered: waiting, being sent, or failed and waiting to retry.</summary>
    Pending,

    /// <summary>Commands that failed at least once and will be retried.</summary>
    Failed,

    /// <summary>Commands that used up their attempts or expired (the dead letters).</summary>
    Dead,
}
