using Isaac.Core.Dispatch;
using Isaac.Core.Wire;
using Isaac.Plugins;
using Microsoft.Extensions.Logging;

namespace Isaac.Core.Devices;

// Running assignments in the hub's order: a sequential command is a barrier (it starts when nothing runs, runs
// alone, and nothing behind it starts until it ends); consecutive parallel commands overlap, at most Capacity.
public sealed partial class DeviceAgent
{
    private readonly Lock _gate = new();
    private readonly SortedSet<Assignment> _waiting = new(RunOrder.Instance);
    private readonly Dictionary<string, Task> _tasks = new(StringComparer.Ordinal);
    private int _active;
    private int _activeParallel;
    private bool _barrierActive;

    /// <summary>Received and not finished: what counts against the window.</summary>
    private int Unfinished
    {
        get
        {
            lock (_gate)
            {
                return _waiting.Count + _active;
            }
        }
    }

    private void Enqueue(Assignment assignment)
    {
        lock (_gate)
        {
            _waiting.Add(assignment);
        }

        Pump();
    }

    /// <summary>
    /// Stores <paramref name="finished"/> (what just ended, if anything) and starts whatever may start now, marking it
    /// running in the same transaction; only ever the head of the line, so nothing overtakes.
    /// </summary>
    private void Pump(RunResult? finished = null)
    {
        lock (_gate)
        {
            var starting = new List<Assignment>();
            while (!_shutdown.IsCancellationRequested && !_barrierActive && _waiting.Min is { } next
                && (next.Parallel ? _activeParallel < _options.Capacity : _active == 0))
            {
                _waiting.Remove(next);
                Occupy(next, +1);
                starting.Add(next);
            }

            if (finished is null && starting.Count == 0)
            {
                return;
            }

            IReadOnlySet<string> started;
            try
            {
                started = _store?.Advance(finished, [.. starting.Select(a => a.Id)]) ?? new HashSet<string>();
            }
            catch (Exception ex)
            {
                // Only the store can fail here: the finished row stays "running" for recovery, and nothing new starts
                // (what was about to start waits in line for the next change).
                _logger.LogError(ex, "Could not record the end of #{Id} or the start of what follows", finished?.Id ?? "(none)");
                foreach (var assignment in starting)
                {
                    Occupy(assignment, -1);
                    _waiting.Add(assignment);
                }

                return;
            }

            if (finished is not null)
            {
                // Result stored (and what follows marked running), nothing reported or started yet.
                FaultInjection.At("after-run");
            }

            foreach (var assignment in starting)
            {
                if (started.Contains(assignment.Id))
                {
                    // Registered under the lock, and a task removes itself under the same lock: shutdown sees every one.
                    _tasks[assignment.Id] = Task.Run(() => ExecuteAsync(assignment));
                }
                else
                {
                    _logger.LogWarning("#{Id} was not waiting to run any more; it was not started", assignment.Id);
                    Occupy(assignment, -1);
                }
            }
        }
    }

    /// <summary>Takes (+1) or frees (-1) the slot an assignment runs in; called under the gate.</summary>
    private void Occupy(Assignment assignment, int delta)
    {
        _active += delta;
        if (assignment.Parallel)
        {
            _activeParallel += delta;
        }
        else
        {
            _barrierActive = delta > 0;
        }
    }

    /// <summary>Runs an assignment already marked running, then stores its result (with the start of what follows) and reports it.</summary>
    private async Task ExecuteAsync(Assignment assignment)
    {
        var cancellationToken = _shutdown.Token;
        RunResult? finished = null;
        try
        {
            finished = await RunOneAsync(assignment, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: the row stays "running" and is resolved by the next server of this device.
        }
        catch (Exception ex)
        {
            // Only sending "running" can fail here (the handler's own failures are results); the row is left for recovery.
            _logger.LogError(ex, "Could not run #{Id} '{Text}'", assignment.Id, assignment.Text);
        }
        finally
        {
            // The slot is free before the hub hears the result: it hands over more work on that message.
            lock (_gate)
            {
                Occupy(assignment, -1);
            }

            Pump(finished);
        }

        try
        {
            if (finished is not null)
            {
                await ReportStoredAsync(assignment.Id, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            lock (_gate)
            {
                _tasks.Remove(assignment.Id);
            }
        }
    }

    /// <summary>Reports a result already stored; a failure now is not one: it goes out on the next connection.</summary>
    private async Task ReportStoredAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            if (_store?.Get(id) is { Status: AgentStore.Done } done)
            {
                await ReportAsync(done, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _logger.LogWarning(ex, "Could not report #{Id} now; it is sent again on the next connection", id);
        }
        catch (OperationCanceledException)
        {
            // Stopping; the stored result goes out on the next connection.
        }
    }

    /// <summary>
    /// Runs one assignment (already stored as running); its result, to be stored by the caller, or null for a task
    /// that was confirmed and is now watched in the background (its slot in the order is free).
    /// </summary>
    private async Task<RunResult?> RunOneAsync(Assignment assignment, CancellationToken cancellationToken)
    {
        FaultInjection.At("after-running");
        await SendAsync(new AgentMessage { Type = "running", Id = assignment.Id }, cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("Running #{Id} (seq {Seq}, {Mode}) from {Sender}: {Text}", assignment.Id, assignment.Seq, assignment.Parallel ? "parallel" : "sequential", assignment.Sender, assignment.Text);

        try
        {
            var result = await _run(assignment.Text, CommandOrigin.Remote(assignment.Sender), cancellationToken).ConfigureAwait(false);
            if (result.Task is { } task)
            {
                return await BeginTaskAsync(assignment, task, cancellationToken).ConfigureAwait(false);
            }

            return new RunResult(assignment.Id, result.Succeeded ? "completed" : "failed", ToResponse(result), result.Succeeded ? null : result.Stderr);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A row must never stay "running" because its handler threw: that is a failure, stated as one.
            var reason = $"Running '{assignment.Text}' on {_options.Device} failed unexpectedly: {ex.Message}";
            _logger.LogError(ex, "#{Id}: {Reason}", assignment.Id, reason);
            return new RunResult(assignment.Id, "failed", CommandResponse.Fail(reason), reason);
        }
    }

    private static CommandResponse ToResponse(CommandResult result) => new()
    {
        Status = result.Status,
        Stdout = result.Stdout,
        Stderr = result.Stderr,
        Kind = result.Kind,
        Meta = result.Error is { } error ? new Dictionary<string, string>(result.Meta) { ["error"] = error.ToWire() } : result.Meta,
        Table = result.Table,
        ExitCode = result.ExitCode,
    };

    private async Task StopRunningAsync()
    {
        await StopWatchesAsync().ConfigureAwait(false);
        Task[] running;
        lock (_gate)
        {
            running = [.. _tasks.Values];
        }

        await Task.WhenAll(running).ConfigureAwait(false);
    }

    /// <summary>The hub's sequence order; arrival order among equals (and for a hub that sends no sequence numbers).</summary>
    private sealed class RunOrder : IComparer<Assignment>
    {
        public static RunOrder Instance { get; } = new();

        public int Compare(Assignment? x, Assignment? y)
        {
            if (ReferenceEquals(x, y))
            {
                return 0;
            }

            if (x is null || y is null)
            {
                return x is null ? -1 : 1;
            }

            var bySeq = (x.Seq is null).CompareTo(y.Seq is null);
            if (bySeq == 0 && x.Seq is { } a && y.Seq is { } b)
            {
                bySeq = a.CompareTo(b);
            }

            return bySeq != 0 ? bySeq : x.Arrival.CompareTo(y.Arrival);
        }
    }
}
