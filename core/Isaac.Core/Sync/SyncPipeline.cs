using System.Reactive.Linq;
using System.Reactive.Subjects;
using System.Text.Json;
using Isaac.Core.Internal;
using Isaac.Core.Queue;
using Isaac.Core.Wire;
using Isaac.Plugins;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Isaac.Core.Sync;

/// <summary>Progress of a long drain, or (<see cref="Finished"/>) a drain that delivered something.</summary>
public sealed record SyncEvent(int Synced, int Remaining, bool Finished = true)
{
    public override string ToString() => Finished
        ? $"{Synced} queued command(s) synced"
        : $"Syncing: {Synced} delivered, {Remaining} to go";
}

/// <summary>
/// Replays the queue to the hub (DESIGN §5). Whenever the hub is online and work is due it drains: claims due
/// commands (FIFO per target), sends them with their unique keys in batches that fit the hub's body limit, and
/// marks them done or failed. An unreachable hub puts the claimed commands back untouched (no attempt counted)
/// and backs off; a hub that refuses a batch costs each command in it an attempt, so nothing waits forever
/// without a word. One drain at a time per process, and per ISAAC_HOME across processes (a lock file), which
/// also lets a drainer reclaim commands a killed drainer left "syncing". Shared history goes out on the same
/// passes, after the user's commands, and is never counted or announced.
/// </summary>
internal sealed class SyncPipeline : ISync, IAsyncDisposable
{
    /// <summary>The reason a drain reports when another process holds this queue's sync lock.</summary>
    public const string AnotherDrainer = "another isaac process is syncing this queue";

    private const int BatchSize = 100;

    /// <summary>A batch's body stays under this, below the hub's default 64 KiB limit; a smaller limit is met by splitting on 413.</summary>
    private const int BatchBytes = 56 * 1024;

    private static readonly TimeSpan _recheck = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan _maxFailureBackoff = TimeSpan.FromSeconds(300);

    private readonly CommandQueue _queue;
    private readonly HubClient _hub;
    private readonly ConnectivityMonitor _connectivity;
    private readonly string _lockPath;
    private readonly ILogger _logger;
    private readonly Subject<SyncEvent> _events = new();
    private readonly SemaphoreSlim _draining = new(1, 1);
    private readonly BackgroundLoop _loop;
    private readonly List<IDisposable> _subscriptions = [];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _typedNow = new(StringComparer.Ordinal);
    private bool _started;
    private int _failures;

    public SyncPipeline(CommandQueue queue, HubClient hub, ConnectivityMonitor connectivity, string lockPath, TimeProvider? time = null, ILogger<SyncPipeline>? logger = null)
    {
        _queue = queue;
        _hub = hub;
        _connectivity = connectivity;
        _lockPath = lockPath;
        _logger = logger ?? NullLogger<SyncPipeline>.Instance;
        _loop = new BackgroundLoop("sync", PassAsync, time, _logger);
        _subscriptions.Add(hub.Outcomes.Subscribe(outcome => connectivity.Report(outcome.Reached, outcome.Reason)));
    }

    /// <summary>Each drain that delivered something ("N queued command(s) synced"), and progress every 500 commands of a long one. Completes on dispose.</summary>
    public IObservable<SyncEvent> Events => _events.AsObservable();

    /// <summary>Starts syncing by itself: on every queue or connectivity change, and every few seconds while work waits.</summary>
    public void Start()
    {
        if (_started)
        {
            return;
        }

        _started = true;
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
                _loop.Wake();
            }
        }));
        _connectivity.Start();
        _loop.Start();
    }

    public async Task<SyncReport> SyncNowAsync(CancellationToken cancellationToken = default)
    {
        if (!await _hub.IsAvailableAsync(cancellationToken).ConfigureAwait(false))
        {
            var waiting = (await _queue.GetStatusAsync(cancellationToken).ConfigureAwait(false)).Queued;
            return new SyncReport { HubAvailable = false, Remaining = waiting, Reason = _connectivity.Current.Reason };
        }

        return await DrainCoreAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Delivers what is due now, without a health check first: a failed call is itself the news that the hub is away.</summary>
    public Task<SyncReport> DrainAsync(CancellationToken cancellationToken = default) => DrainCoreAsync(cancellationToken);

    /// <summary>
    /// A command the person is waiting for at the prompt, about to be queued: whichever drain delivers it (this
    /// process's loop may beat the router to it), it never waited in the queue, so it is not counted as "synced".
    /// </summary>
    public void TypedNow(string uniqueKey) => _typedNow.TryAdd(uniqueKey, 0);

    /// <summary>The typed command was not delivered at once: from now on it is queued work like any other.</summary>
    public void NowQueued(string uniqueKey) => _typedNow.TryRemove(uniqueKey, out _);

    /// <summary>A shared history line was kept: it goes out with the next pass, which comes now (it never counts as queued work, so no queue change wakes the loop).</summary>
    public void HistoryKept() => _loop.Wake();

    // One pass of the background loop: woken by a change, or after a while anyway (failed commands come due without any change).
    private async Task<TimeSpan> PassAsync(CancellationToken cancellationToken)
    {
        if (_connectivity.Current.Online)
        {
            var report = await DrainCoreAsync(cancellationToken).ConfigureAwait(false);
            _failures = report.HubAvailable ? 0 : _failures + 1;
        }

        return _failures == 0 ? _recheck : Backoff.Delay(_failures, TimeSpan.FromSeconds(1), _maxFailureBackoff, Random.Shared);
    }

    private async Task<SyncReport> DrainCoreAsync(CancellationToken cancellationToken)
    {
        await _draining.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var exclusive = FileLock.TryAcquire(_lockPath);
            if (exclusive is null)
            {
                var busy = (await _queue.GetStatusAsync(cancellationToken).ConfigureAwait(false)).Queued;
                return new SyncReport { HubAvailable = true, Remaining = busy, Reason = AnotherDrainer };
            }

            // Holding the lock, we are the only drainer: anything "syncing" was left by one that died.
            var reclaimed = await _queue.ReclaimAllSyncingAsync(cancellationToken).ConfigureAwait(false);
            if (reclaimed > 0)
            {
                _logger.LogWarning("Reclaimed {Count} command(s) an interrupted sync left in flight; the hub drops any it already has", reclaimed);
            }

            var synced = 0;
            var available = true;
            var reason = (string?)null;
            while (available && await _queue.ClaimAsync(BatchSize, cancellationToken).ConfigureAwait(false) is { Count: > 0 } batches)
            {
                var outcome = await DeliverAsync(batches.SelectMany(b => b.Commands).ToList(), cancellationToken).ConfigureAwait(false);
                if ((synced + outcome.Delivered) / 500 > synced / 500)
                {
                    var left = (await _queue.GetStatusAsync(cancellationToken).ConfigureAwait(false)).Queued;
                    Publish(new SyncEvent(synced + outcome.Delivered, left, Finished: false));
                }

                synced += outcome.Delivered;
                available = outcome.Unavailable is null;
                reason = outcome.Unavailable;
            }

            if (available)
            {
                await ShareHistoryAsync(cancellationToken).ConfigureAwait(false);
            }

            var remaining = (await _queue.GetStatusAsync(cancellationToken).ConfigureAwait(false)).Queued;
            if (synced > 0)
            {
                _logger.LogInformation("Synced {Count} queued command(s); {Remaining} remain", synced, remaining);
                Publish(new SyncEvent(synced, remaining));
            }

            return new SyncReport { HubAvailable = available, Synced = synced, Remaining = remaining, Reason = reason };
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

    /// <summary>How many were delivered, and why the rest could not be (null when the hub was reached throughout).</summary>
    private readonly record struct Delivery(int Delivered, string? Unavailable);

    private async Task<Delivery> DeliverAsync(List<ClaimedCommand> claimed, CancellationToken cancellationToken)
    {
        var delivered = 0;
        foreach (var batch in Batches(claimed))
        {
            var outcome = batch[0].Type == CommandType.DeviceRoute
                ? await DeliverRoutesAsync(batch, cancellationToken).ConfigureAwait(false)
                : await DeliverMetaAsync(batch[0], cancellationToken).ConfigureAwait(false);
            delivered += outcome.Delivered;
            if (outcome.Unavailable is not null)
            {
                // Everything not yet sent goes back as it was: no attempt is counted against a hub that is away.
                await _queue.ReleaseAsync(claimed.Select(c => c.Id).ToList(), cancellationToken).ConfigureAwait(false);
                return outcome with { Delivered = delivered };
            }
        }

        return new Delivery(delivered, null);
    }

    // Routes travel in batches of consecutive commands that fit the hub's limits; a queued meta-command goes alone.
    private static IEnumerable<List<ClaimedCommand>> Batches(List<ClaimedCommand> claimed)
    {
        var batch = new List<ClaimedCommand>();
        var bytes = 2;
        foreach (var command in claimed)
        {
            var size = command.Type == CommandType.DeviceRoute ? JsonSerializer.SerializeToUtf8Bytes(Body(command), HubJson.Default.RouteBody).Length + 1 : 0;
            if (batch.Count > 0 && (command.Type != CommandType.DeviceRoute || batch[0].Type != CommandType.DeviceRoute || batch.Count == BatchSize || bytes + size > BatchBytes))
            {
                yield return batch;
                batch = [];
                bytes = 2;
            }

            batch.Add(command);
            bytes += size;
        }

        if (batch.Count > 0)
        {
            yield return batch;
        }
    }

    private static RouteBody Body(ClaimedCommand command) =>
        new() { Target = command.Target ?? "", Text = command.Text, UniqueKey = command.UniqueKey, Parallel = command.Parallel };

    private async Task<Delivery> DeliverRoutesAsync(List<ClaimedCommand> routes, CancellationToken cancellationToken)
    {
        var answer = await _hub.RouteBatchAsync(routes.Select(Body).ToList(), cancellationToken).ConfigureAwait(false);
        switch (answer.Outcome)
        {
            case BatchOutcome.Unavailable:
                return new Delivery(0, answer.Reason);
            case BatchOutcome.TooLarge when routes.Count > 1:
                // A hub with a smaller limit than we assumed: halves keep the order and eventually fit.
                var half = routes.Count / 2;
                var first = await DeliverRoutesAsync(routes[..half], cancellationToken).ConfigureAwait(false);
                if (first.Unavailable is not null)
                {
                    return first;
                }

                var second = await DeliverRoutesAsync(routes[half..], cancellationToken).ConfigureAwait(false);
                return second with { Delivered = first.Delivered + second.Delivered };
            case BatchOutcome.TooLarge or BatchOutcome.Refused:
                // The hub will not take these as they are: each pays an attempt and ends in the dead letters with the hub's
                // reason. One command too large on its own can never pass: it goes there at once.
                foreach (var command in routes)
                {
                    await _queue.MarkFailedAsync(command.Id, answer.Reason, permanent: answer.Outcome == BatchOutcome.TooLarge, cancellationToken).ConfigureAwait(false);
                }

                return new Delivery(0, null);
        }

        var done = new List<(long, string?)>();
        var tracked = new List<RoutedCommand>();
        foreach (var (command, record) in routes.Zip(answer.Records ?? []))
        {
            if (record.Status == RoutedStatus.Rejected && record.Id.Length == 0)
            {
                // Refused on its own merits (unknown device, invalid text): retrying cannot help.
                await _queue.MarkFailedAsync(command.Id, $"the hub refused it: {record.Error ?? "no reason given"}", permanent: true, cancellationToken).ConfigureAwait(false);
                continue;
            }

            done.Add((command.Id, record.Id));
            tracked.Add(record.ToRouted());
        }

        // Two transactions for the whole batch, in this order: the records whose results the inbox collects first,
        // then "done". Killed between them, the batch is sent again and the hub answers with the same records (unique
        // keys), so nothing is tracked twice or lost; the other order could lose a record for a delivered command.
        await _queue.TrackRoutedAsync(tracked, cancellationToken).ConfigureAwait(false);
        await _queue.MarkDoneAsync(done, cancellationToken).ConfigureAwait(false);
        var typed = routes.Count(c => done.Any(d => d.Item1 == c.Id) && _typedNow.TryRemove(c.UniqueKey, out _));
        return new Delivery(done.Count - typed, null);
    }

    // A queued meta-command is a hub-side command such as /devices.
    private async Task<Delivery> DeliverMetaAsync(ClaimedCommand command, CancellationToken cancellationToken)
    {
        if (await _hub.MetaAsync(command.Text, cancellationToken).ConfigureAwait(false) is null)
        {
            return new Delivery(0, _connectivity.Current.Reason);
        }

        await _queue.MarkDoneAsync([command.Id], cancellationToken).ConfigureAwait(false);
        return new Delivery(1, null);
    }

    private async Task ShareHistoryAsync(CancellationToken cancellationToken)
    {
        foreach (var (id, text) in await _queue.PeekHistoryAsync(100, cancellationToken).ConfigureAwait(false))
        {
            if (!await _hub.AppendHistoryAsync(text, cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            await _queue.ForgetHistoryAsync(id, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _loop.DisposeAsync().ConfigureAwait(false);
        foreach (var subscription in _subscriptions)
        {
            subscription.Dispose();
        }

        lock (_events)
        {
            _events.OnCompleted();
        }

        _events.Dispose();
    }
}
