namespace Isaac.Core.Queue;

/// <summary>A queue database Isaac cannot use. Every message is built here.</summary>
internal sealed class QueueException : IsaacException
{
    private QueueException(string message) : base(message)
    {
    }

    internal static QueueException NewerSchema(string path, int found, int known) =>
        new($"The queue database {path} has schema version {found}, but this Isaac knows only up to {known}. Upgrade Isaac, or move the file away to start an empty queue.");
}
