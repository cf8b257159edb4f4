using System.Reactive.Linq;
using System.Reactive.Subjects;
using Isaac.Core.Dispatch;
using Isaac.Core.Internal;
using Isaac.Core.Manifests;
using Isaac.Plugins;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Isaac.Core.Devices;

/// <summary>Runs a command that another device routed here; the origin is always remote, named after the sender.</summary>
internal delegate Task<CommandResult> RoutedRunner(string text, CommandOrigin origin, CancellationToken cancellationToken);

/// <summary>
/// Serves this device's routed commands (<c>isaac agent</c>, or inside an interactive shell): one process per
/// machine holds <c>agent.lock</c> and with it <c>agent.db</c>; it keeps a hub connection (heartbeats, reconnects
/// with back-off), stores each assignment before acknowledging it, runs assignments in the hub's order
/// (parallel ones overlap up to the capacity, others run alone), and reports results — now, or when the hub is back.
/// </summary>
public sealed partial class DeviceAgent : IAsyncDisposable
{
    private readonly AgentOptions _options;
    private readonly CommandCatalog _catalog;
    private readonly RoutedRunner _run;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly BehaviorSubject<AgentState> _state = new(AgentState.Starting);
    private readonly Lock _stateGate = new();
    private readonly CancellationTokenSource _shutdown = new();
    private Task? _main;
    private int _disposed;

    // Opened only once the machine lock is held; owned by the main task from then on.
    private AgentStore? _store;

    /// <param name="catalog">This device's commands: an interrupted command is re-run only if its manifest says <c>idempotent</c>.</param>
    internal DeviceAgent(AgentOptions options, CommandCatalog catalog, RoutedRunner run, TimeProvider? time = null, ILogger<DeviceAgent>? logger = null)
    {
        options.Validate();
        _options = options;
        _catalog = catalog;
        _run = run;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger<DeviceAgent>.Instance;
        States = _state.DistinctUntilChanged();
    }

    /// <summary>The current state on subscribe, then each change. Completes when the agent is disposed.</summary>
    public IObservable<AgentState> States { get; }

    /// <summary>One line for the person when agent.db was damaged and rescued, or cannot be used (then routed commands wait until it can).</summary>
    public IObservable<string> Notices => _notices;

    private readonly Subject<string> _notices = new();
    private string? _lastNotice;

    // From the main task only (serialized, as Rx requires); a failure retried every few seconds is said once.
    private void Notice(string line)
    {
        if (line != _lastNotice)
        {
            _lastNotice = line;
            _notices.OnNext(line);
        }
    }

    /// <summary>Starts serving in the background; the first step is waiting for the machine's agent lock. Calling it again does nothing.</summary>
    public void Start() => _main ??= Task.Run(() => MainAsync(_shutdown.Token));

    /// <summary>Serves until <paramref name="cancellationToken"/> fires or the hub keeps refusing the token (<see cref="TokenRefused"/>), then stops and releases the lock.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        Start();
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (cancellationToken.Register(() => stopped.TrySetResult()).ConfigureAwait(false))
        {
            await Task.WhenAny(_main ?? Task.CompletedTask, stopped.Task, _tokenRefused.Task).ConfigureAwait(false);
        }

        await DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _shutdown.CancelAsync().ConfigureAwait(false);
        if (_main is { } main)
        {
            await main.ConfigureAwait(false);
        }

        SetState(AgentState.Stopped);
        lock (_stateGate)
        {
            _state.OnCompleted();
        }

        _state.Dispose();
        _watching.Dispose();
        _notices.OnCompleted();
        _notices.Dispose();
        _shutdown.Dispose();
    }

    private void SetState(AgentState state)
    {
        lock (_stateGate)
        {
            if (!_state.IsDisposed)
            {
                _state.OnNext(state);
            }
        }
    }

    // Nothing may end the agent silently: an unexpected failure is logged, everything is let go (the lock too,
    // so another process may serve meanwhile), and serving starts over from the database after a pause.
    private async Task MainAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await ServeMachineAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "The device agent for '{Device}' failed; starting again in {Wait}", _options.Device, _options.MaxReconnect);
            }

            try
            {
                await Task.Delay(_options.MaxReconnect, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ServeMachineAsync(CancellationToken cancellationToken)
    {
        using var machineLock = await AcquireLockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _store = await OpenStoreAsync(cancellationToken).ConfigureAwait(false);
            Recover(_store);
            SetState(AgentState.Disconnected);
            var loop = new BackgroundLoop("device agent", ConnectPassAsync, _time, _logger);
            await using (loop.ConfigureAwait(false))
            {
                loop.Start();
                await Task.Delay(Timeout.InfiniteTimeSpan, _time, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            // Stopping: the connection is closed; what runs now is cancelled and stays "running", to be dealt with
            // (in doubt, or re-run if idempotent) by whichever process serves the device next. What waits to run
            // stays "received" in the database and is read back from there.
            await StopRunningAsync().ConfigureAwait(false);
            lock (_gate)
            {
                _waiting.Clear();
            }

            _store?.Dispose();
            _store = null;
        }
    }

    // Several shells and `isaac agent` may share one ISAAC_HOME: the one holding the lock serves the device,
    // the others wait. The OS drops the lock when its process dies, however it dies.
    private async Task<FileStream> AcquireLockAsync(CancellationToken cancellationToken)
    {
        var announced = false;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (FileLock.TryAcquire(_options.LockPath) is { } held)
            {
                if (announced)
                {
                    _logger.LogInformation("This process now serves device '{Device}'", _options.Device);
                }

                return held;
            }

            if (!announced)
            {
                announced = true;
                _logger.LogInformation("Another process on this machine serves device '{Device}' ({Lock}); waiting to take over", _options.Device, _options.LockPath);
                SetState(AgentState.WaitingForLock);
            }

            await Task.Delay(_options.LockRetry, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<AgentStore> OpenStoreAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                var store = new AgentStore(_options.StorePath, _logger);
                if (store.RecoveryNotice is { } rescued)
                {
                    Notice(rescued);
                }

                return store;
            }
            catch (Exception ex) when (ex is StoreException or IOException or UnauthorizedAccessException)
            {
                Notice($"Routed commands for '{_options.Device}' are not being served: {ex.Message}");
                _logger.LogError(ex, "Could not open the agent database {Path}; trying again in {Wait}", _options.StorePath, _options.MaxReconnect);
                await Task.Delay(_options.MaxReconnect, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    // After a restart (or a takeover from another process): what was running when its server stopped is in
    // doubt — it may have had its effect — so it runs again only when its manifest says that is safe; a task goes on
    // from its stored state; what was received but never started runs in order.
    private void Recover(AgentStore store)
    {
        var tasks = store.OpenTasks().Select(t => t.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var interrupted in store.InState(AgentStore.Running).Where(a => !tasks.Contains(a.Id)))
        {
            if (IsIdempotent(interrupted.Text))
            {
                _logger.LogWarning("#{Id} '{Text}' was running when the agent stopped; its manifest says it is idempotent, so it runs again", interrupted.Id, interrupted.Text);
                store.Requeue(interrupted.Id);
                continue;
            }

            var reason = InDoubtReason(interrupted.Text);
            _logger.LogWarning("#{Id}: {Reason}", interrupted.Id, reason);
            store.Finish(interrupted.Id, "in_doubt", CommandResponse.Fail(reason), reason);
        }

        ResumeTasks(store);
        foreach (var received in store.InState(AgentStore.Received))
        {
            Enqueue(received);
        }
    }

    private string InDoubtReason(string text) =>
        $"The agent on {_options.Device} stopped while '{text}' was running; it may or may not have run. Run it again by hand if needed.";

    private bool IsIdempotent(string text) =>
        ParsedInput.Parse(text, _catalog) is { Kind: InputKind.Meta, Match: { } match } && match.Command.Manifest.Queue.Idempotent;
}
