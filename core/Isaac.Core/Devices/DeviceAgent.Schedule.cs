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

    /// <summary>Starts whatever may start now; only ever the head of the line, so nothing overtakes.</summary>
    private void Pump()
    {
        lock (_gate)
        {
            while (!_shutdown.IsCancellationRequested && !_barrierActive && _waiting.Min is { } next)
            {
                if (next.Parallel ? _activeParallel >= _options.Capacity : _active > 0)
                {
                    return;
                }

                _waiting.Remove(next);
                _active++;
                if (next.Parallel)
                {
                    _activeParallel++;
                }
                else
                {
                    _barrierActive = true;
                }

                // Registered under the lock, and a task removes itself under the same lock: shutdown sees every one.
                _tasks[next.Id] = Task.Run(() => ExecuteAsync(next));
            }
        }
    }

    private async Task ExecuteAsync(Assignment assignment)
    {
        var cancellationToken = _shutdown.Token;
        var finished = false;
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
            // Only the store can fail here (the handler's own failures are results); the row is left for recovery.
            _logger.LogError(ex, "Could not record the run of #{Id} '{Text}'", assignment.Id, assignment.Text);
        }
        finally
        {
            // The slot is free before the hub hears the result: it hands over more work on that message.
            lock (_gate)
            {
                _active--;
                if (assignment.Parallel)
                {
                    _activeParallel--;
                }
                else
                {
                    _barrierActive = false;
                }
            }

            Pump();
        }

        try
        {
            if (finished && _store?.Get(assignment.Id) is { Status: AgentStore.Done } done)
            {
                await ReportAsync(done, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _logger.LogWarning(ex, "Could not report #{Id} now; it is sent again on the next connection", assignment.Id);
        }
        catch (OperationCanceledException)
        {
            // Stopping; the stored result goes out on the next connection.
        }
        finally
        {
            lock (_gate)
            {
                _tasks.Remove(assignment.Id);
            }
        }
    }

    /// <summary>Runs one assignment; true once its result is stored.</summary>
    private async Task<bool> RunOneAsync(Assignment assignment, CancellationToken cancellationToken)
    {
        if (_store is not { } store)
        {
            return false;
        }

        if (!store.MarkRunning(assignment.Id))
        {
            _logger.LogWarning("#{Id} was not waiting to run any more; it was not started", assignment.Id);
            return false;
        }

        FaultInjection.At("after-running");
        await SendAsync(new AgentMessage { Type = "running", Id = assignment.Id }, cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("Running #{Id} (seq {Seq}, {Mode}) from {Sender}: {Text}", assignment.Id, assignment.Seq, assignment.Parallel ? "parallel" : "sequential", assignment.Sender, assignment.Text);

        string outcome;
        CommandResponse response;
        string? reason;
        try
        {
            var result = await _run(assignment.Text, CommandOrigin.Remote(assignment.Sender), cancellationToken).ConfigureAwait(false);
            response = ToResponse(result);
            outcome = result.Succeeded ? "completed" : "failed";
            reason = result.Succeeded ? null : result.Stderr;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A row must never stay "running" because its handler threw: that is a failure, stated as one.
            reason = $"Running '{assignment.Text}' on {_options.Device} failed unexpectedly: {ex.Message}";
            _logger.LogError(ex, "#{Id}: {Reason}", assignment.Id, reason);
            response = CommandResponse.Fail(reason);
            outcome = "failed";
        }

        store.Finish(assignment.Id, outcome, response, reason);
        FaultInjection.At("after-run");
        return true;
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
