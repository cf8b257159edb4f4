namespace Isaac.Core.Queue;

/// <summary>How the durable command queue behaves. Vary with <c>with { … }</c>.</summary>
internal sealed record QueueOptions
{
    /// <summary>Failed deliveries before a command moves to the dead letters. The default is 3.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>Delay before the first retry; each further retry doubles it (with jitter). The default is 2 s.</summary>
    public TimeSpan BaseBackoff { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Longest delay between retries. The default is 300 s.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>A command still "syncing" after this long is assumed abandoned by a crash and made pending again. The default is 5 minutes.</summary>
    public TimeSpan StaleSyncingAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long delivered commands are kept. The default is 7 days.</summary>
    public TimeSpan DoneRetention { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Queued commands beyond which each enqueue warns (it still accepts). The default is 10,000.</summary>
    public int SoftLimit { get; init; } = 10_000;

    /// <summary>How often to look for changes made by other processes. The default is 250 ms.</summary>
    public TimeSpan ChangePollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long to wait for another process's write lock. The default is 10 s.</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public static QueueOptions Default { get; } = new();

    internal void Validate()
    {
        if (MaxAttempts < 1)
        {
            throw new ArgumentException("MaxAttempts must be at least 1.", nameof(MaxAttempts));
        }

        if (BaseBackoff <= TimeSpan.Zero || MaxBackoff < BaseBackoff)
        {
            throw new ArgumentException("BaseBackoff must be positive and at most MaxBackoff.", nameof(BaseBackoff));
        }

        if (SoftLimit < 1)
        {
            throw new ArgumentException("SoftLimit must be at least 1.", nameof(SoftLimit));
        }
    }
}
