namespace Isaac.Core.Execution;

/// <summary>One handler run under containment: its marker, its leader once started, and the kill of all its processes.</summary>
internal sealed class ContainedRun : IDisposable
{
    private readonly Lock _gate = new();
    private readonly IDisposable _tracking;
    private int _leader;

    public ContainedRun(string marker)
    {
        Marker = marker;
        // Tracked before the handler starts: it may fork before Isaac learns its pid. Its marker finds it anyway.
        _tracking = HandlerContainment.Track(Kill);
    }

    /// <summary>The value of <see cref="ProcessTree.MarkerVariable"/> in the handler's environment.</summary>
    public string Marker { get; }

    /// <summary>Records the handler's main process (the leader of its session and group).</summary>
    public void Started(int leader)
    {
        lock (_gate)
        {
            _leader = leader;
        }

        if (HandlerContainment.IsStopping)
        {
            // Isaac was told to stop while the handler was starting: the sweep may have run before it existed.
            Kill();
        }
    }

    /// <summary>SIGKILLs every process of the run that is still alive; safe to call from any thread, any number of times.</summary>
    public void Kill()
    {
        // One sweep at a time: a timeout, a signal and the end of the run may all ask at once.
        lock (_gate)
        {
            ProcessTree.Kill(Marker, _leader);
        }
    }

    /// <summary>A handler's processes never outlive its run.</summary>
    public void Dispose()
    {
        Kill();
        _tracking.Dispose();
    }
}
