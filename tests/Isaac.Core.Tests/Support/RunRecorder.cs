using Isaac.Core.Dispatch;
using Isaac.Plugins;

namespace Isaac.Core.Tests.Support;

/// <summary>An in-process routed runner that records when each command starts and ends, and can hold them.</summary>
internal sealed class RunRecorder
{
    private readonly Lock _gate = new();
    private readonly List<string> _events = [];
    private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _running;

    /// <summary>When true, every run waits for <see cref="Release"/>.</summary>
    public bool Hold { get; init; }

    /// <summary>How long each run takes when not held.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Thrown by every run when set.</summary>
    public Exception? Throw { get; init; }

    public int MaxRunning { get; private set; }

    public IReadOnlyList<string> Events
    {
        get
        {
            lock (_gate)
            {
                return [.. _events];
            }
        }
    }

    public int Running
    {
        get
        {
            lock (_gate)
            {
                return _running;
            }
        }
    }

    public int Starts(string text) => Events.Count(e => e == "start " + text);

    public int Ends => Events.Count(e => e.StartsWith("end ", StringComparison.Ordinal));

    public void Release() => _release.TrySetResult();

    public async Task<CommandResult> RunAsync(string text, CommandOrigin origin, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _events.Add("start " + text);
            _running++;
            MaxRunning = Math.Max(MaxRunning, _running);
        }

        try
        {
            await Task.Yield();
            if (Throw is { } exception)
            {
                throw exception;
            }

            if (Hold)
            {
                await _release.Task.WaitAsync(cancellationToken);
            }
            else
            {
                await Task.Delay(Duration, cancellationToken);
            }

            return new CommandResult { Command = text, Stdout = $"ran {text} for {origin.Device}" };
        }
        finally
        {
            lock (_gate)
            {
                _running--;
                _events.Add("end " + text);
            }
        }
    }
}
