using System.Reactive.Linq;
using System.Reactive.Subjects;
using System.Threading.Channels;
using Isaac.Core.Hub;
using Isaac.Core.Queue;
using Isaac.Plugins;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Isaac.Core.Sync;

/// <summary>Progress of a long drain, or (<see cref="Finished"/>) a drain that delivered something.</summary>
internal sealed record SyncEvent(int Synced, int Remaining, bool Finished = true)
{
    public override string ToString() => Finished
        ? $"{Synced} queued command(s) synced"
        : $"Syncing: {Synced} delivered, {Remaining} to go";
}

/// <summary>
/// Replays the queue to the hub (DESIGN §5). Whenever the hub is online and work is due it drains: claims due
/// commands (FIFO per target; parallel ones batched, a sequential one alone), sends them with their unique
/// keys in batched calls, and marks them done or failed. An unreachable hub puts the claimed commands back
/// untouched (no attempt counted) and backs off. One drain at a time per process, and per ISAAC_HOME across
/// processes (a lock file), which also lets a drainer reclaim commands a killed drainer left "syncing".
/// </summary>
internal sealed class SyncPipeline : ISync, IAsyncDisposable
{
    private const int BatchSize = 100;
    private static readonly TimeSpan _maxFailureBackoff = TimeSpan.FromSeconds(300);
    private static readonly TimeSpan _recheck = TimeSpan.FromSeconds(5);

    private readonly CommandQueue _queue;
    private readonly HubClient _hub;
    private readonly ConnectivityMonitor _connectivity;
    private readonly string _lockPath;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Subject<SyncEvent> _events = new();
    private readonly Channel<bool> _kicks = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly SemaphoreSlim _draining = new(1, 1);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly List<IDisposable> _subscriptions = [];
    private Task? _loop;
    private int _failures;

    public SyncPipeline(CommandQueue queue, HubClient hub, ConnectivityMonitor connectivity, string lockPath, TimeProvider? time = null, ILogger<SyncPipeline>? logger = null)
    {
        _queue = queue;
        _hub = hub;
        _connectivity = connectivity;
        _lockPath = lockPath;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger<SyncPipeline>.Instance;
        _subscriptions.Add(hub.Outcomes.Subscribe(outcome => connectivity.Report(outcome.Reached, outcome.Reason)));
    }

    /// <summary>Each drain that delivered something ("N queued command(s) synced"), and progress every 500 commands of a long one. Completes on dispose.</summary>
    public IObservable<SyncEvent> Events => _events.AsObservable();

    /// <summary>Starts syncing by itself: on every queue or connectivity change, and every few seconds while work waits.</summary>
    public void Start()
    {
        if (_loop is not null)
        {
            return;
        }

        _subscriptions.Add(_queue.Changes.CombineLatest(_connectivity.Changes).Subscribe(pair =>
        {
            var (status, connectivity) = pair;
            _connectivity.WorkWaiting = status.Queued > 0;
            if (status.Queued > 0 && !connectivity.Online)
            {
                _connectivity.ProbeSoon();
            }

            if (status.Pending + status.Failed > 0 && connectivity.Online)
            {
                _kicks.Writer.TryWrite(true);
            }
        }));
        _connectivity.Start();
        _loop = LoopAsync(_shutdown.Token);
    }

    public async Task<SyncReport> SyncNowAsync(CancellationToken cancellationToken = default)
    {
        if (!await _hub.IsAvailableAsync(cancellationToken).ConfigureAwait(false))
        {
            var waiting = (await _queue.GetStatusAsync(cancellationToken).ConfigureAwait(false)).Queued;
            return new SyncReport { HubAvailable = false, Remaining = waiting, Reason = _connectivity.Current.Reason };
        }

        return await DrainAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                // Woken by a change, or after a while anyway: failed commands come due without any change.
                var wait = _failures == 0 ? _recheck : Backoff.Delay(_failures, TimeSpan.FromSeconds(1), _maxFailureBackoff, Random.Shared);
                using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    timeout.CancelAfter(wait);
                    try
                    {
                        await _kicks.Reader.ReadAsync(timeout.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        // Time to look again.
                    }
                }

                if (_connectivity.Current.Online)
                {
                    var report = await DrainAsync(cancellationToken).ConfigureAwait(false);
                    _failures = report.HubAvailable ? 0 : _failures + 1;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Disposed.
        }
    }

    private async Task<SyncReport> DrainAsync(CancellationToken cancellationToken)
    {
        await _draining.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var exclusive = SyncLock.TryAcquire(_lockPath);
            if (exclusive is null)
            {
                var busy = (await _queue.GetStatusAsync(cancellationToken).ConfigureAwait(false)).Queued;
                return new SyncReport { HubAvailable = true, Remaining = busy, Reason = "another isaac process is syncing this queue" };
            }

            // Holding the lock, we are the only drainer: anything "syncing" was left by one that died.
            var reclaimed = await _queue.ReclaimAllSyncingAsync(cancellationToken).ConfigureAwait(false);
            if (reclaimed > 0)
            {
                _logger.LogWarning("Reclaimed {Count} command(s) an interrupted sync left in flight; the hub drops any it already has", reclaimed);
            }

            var synced = 0;
            var available = true;
            while (available && await _queue.ClaimAsync(BatchSize, cancellationToken).ConfigureAwait(false) is { Count: > 0 } batches)
            {
                var (delivered, reached) = await DeliverAsync(batches.SelectMany(b => b.Commands).ToList(), cancellationToken).ConfigureAwait(false);
                if ((synced + delivered) / 500 > synced / 500)
                {
                    var left = (await _queue.GetStatusAsync(cancellationToken).ConfigureAwait(false)).Queued;
                    Publish(new SyncEvent(synced + delivered, left, Finished: false));
                }

                synced += delivered;
                available = reached;
            }

            var remaining = (await _queue.GetStatusAsync(cancellationToken).ConfigureAwait(false)).Queued;
            if (synced > 0)
            {
                _logger.LogInformation("Synced {Count} queued command(s); {Remaining} remain", synced, remaining);
                Publish(new SyncEvent(synced, remaining));
            }

            return new SyncReport { HubAvailable = available, Synced = synced, Remaining = remaining, Reason = available ? null : _connectivity.Current.Reason };
        }
        finally
        {
            _draining.Release();
        }
    }

    private void Publish(SyncEvent syncEvent)
    {
        lock (_events)
        {
            _events.OnNext(syncEvent);
        }
    }

    private async Task<(int Delivered, bool Reached)> DeliverAsync(List<ClaimedCommand> claimed, CancellationToken cancellationToken)
    {
        var delivered = 0;
        foreach (var chunk in claimed.Chunk(BatchSize))
        {
            var routes = chunk.Where(c => c.Type == CommandType.DeviceRoute).ToList();
            var others = chunk.Where(c => c.Type != CommandType.DeviceRoute).ToList();
            if (routes.Count > 0)
            {
                var bodies = routes.Select(c => new RouteBody { Target = c.Target ?? "", Text = c.Text, UniqueKey = c.UniqueKey }).ToList();
                if (await _hub.RouteBatchAsync(bodies, cancellationToken).ConfigureAwait(false) is not { } records)
                {
                    await _queue.ReleaseAsync(chunk.Select(c => c.Id).ToList(), cancellationToken).ConfigureAwait(false);
                    return (delivered, false);
                }

                var done = new List<long>();
                foreach (var (command, record) in routes.Zip(records))
                {
                    if (record.Status == RoutedStatus.Rejected && record.Id.Length == 0)
                    {
                        await _queue.MarkFailedAsync(command.Id, record.Error ?? "the hub refused it", cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    done.Add(command.Id);
                    await _queue.TrackRoutedAsync(record.ToRouted(), cancellationToken).ConfigureAwait(false);
                }

                await _queue.MarkDoneAsync(done, cancellationToken).ConfigureAwait(false);
                delivered += done.Count;
            }

            foreach (var command in others)
            {
                // A queued meta-command is a hub-side command; a queued shell line goes to the shared history.
                var reached = command.Type == CommandType.Meta
                    ? await _hub.MetaAsync(command.Text, cancellationToken).ConfigureAwait(false) is not null
                    : await _hub.AppendHistoryAsync(command.Text, cancellationToken).ConfigureAwait(false);
                if (!reached)
                {
                    await _queue.ReleaseAsync([command.Id], cancellationToken).ConfigureAwait(false);
                    return (delivered, false);
                }

                await _queue.MarkDoneAsync([command.Id], cancellationToken).ConfigureAwait(false);
                delivered++;
            }
        }

        return (delivered, true);
    }

    public async ValueTask DisposeAsync()
    {
        await _shutdown.CancelAsync().ConfigureAwait(false);
        if (_loop is { } loop)
        {
            await loop.ConfigureAwait(false);
        }

        foreach (var subscription in _subscriptions)
        {
            subscription.Dispose();
        }

        lock (_events)
        {
            _events.OnCompleted();
        }

        _events.Dispose();
        _shutdown.Dispose();
    }
}

/// <summary>An exclusive lock on a file, held until disposed or until the process dies (then the OS frees it).</summary>
internal static class SyncLock
{
    public static FileStream? TryAcquire(string path)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path) ?? ".");
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }
}
