namespace Isaac.Hub.Internal;

/// <summary>
/// One-shot "this command changed" signals, keyed by command id, for long-polls. A waiter subscribes
/// <em>before</em> it reads the state, so a change between its read and its wait still wakes it; any number of
/// waiters share one signal per id, and the entry goes away with the last of them, so ids polled for a while
/// and never changed do not pile up.
/// </summary>
internal sealed class ChangeSignals
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public Subscription Subscribe(string id)
    {
        lock (_gate)
        {
            if (!_entries.TryGetValue(id, out var entry))
            {
                entry = new Entry();
                _entries.Add(id, entry);
            }

            entry.Waiters++;
            return new Subscription(this, id, entry);
        }
    }

    /// <summary>Wakes everyone subscribed to <paramref name="id"/> so far; later subscribers get a fresh signal.</summary>
    public void Signal(string id)
    {
        Entry? entry;
        lock (_gate)
        {
            _entries.Remove(id, out entry);
        }

        entry?.Changed.TrySetResult();
    }

    /// <summary>How many ids have waiters right now (for tests).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    private void Leave(string id, Entry entry)
    {
        lock (_gate)
        {
            entry.Waiters--;
            if (entry.Waiters == 0 && _entries.TryGetValue(id, out var current) && ReferenceEquals(current, entry))
            {
                _entries.Remove(id);
            }
        }
    }

    internal sealed class Entry
    {
        // Continuations run elsewhere: Signal is called from an agent's session loop, which must not run HTTP handlers.
        public TaskCompletionSource Changed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Waiters { get; set; }
    }

    internal sealed class Subscription(ChangeSignals owner, string id, Entry entry) : IDisposable
    {
        private int _disposed;

        /// <summary>Completes when the command changes after the subscription was taken.</summary>
        public Task Changed => entry.Changed.Task;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Leave(id, entry);
            }
        }
    }
}
