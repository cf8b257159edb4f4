using System.Text.Json;
using Isaac.Core.Devices;
using Isaac.Core.Dispatch;
using Isaac.Core.Manifests;
using Isaac.Core.Queue;
using Isaac.Core.Sync;
using Isaac.Core.Wire;
using Isaac.Plugins;

namespace Isaac.Core.Routing;

/// <summary>
/// The one path from this device to another (DESIGN §6a): every route is first kept in the durable queue, behind any
/// older ones for the same device, and reaches the hub only through the sync pipeline, which delivers in queue order.
/// A new route therefore never overtakes the backlog, and "the hub stored it but we never heard back" is settled by
/// the command's unique key when the queue sends it again. The sender's own manifest for the routed command decides
/// its queue policy; a command this device does not know queues with the defaults.
/// </summary>
internal sealed class DeviceRouter(CommandCatalog catalog, CommandQueue queue, HubClient? hub, SyncPipeline? sync, ConnectivityMonitor? connectivity, TimeProvider? time = null)
    : IDeviceRoutes, IHub
{
    // Another process may be draining this queue: how long to watch for it to deliver our command.
    private static readonly TimeSpan _otherDrainerWait = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan _pollInterval = TimeSpan.FromMilliseconds(50);

    // How long a routed task waits for its device to take it before the person is told it is on its way.
    private static readonly TimeSpan _taskAcceptanceWait = TimeSpan.FromSeconds(3);

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public async Task<RouteOutcome> RouteAsync(RouteRequest request, CancellationToken cancellationToken = default)
    {
        if (!DeviceName.TryNormalize(request.Target, out var target, out var problem))
        {
            return new RouteOutcome { Status = RouteStatus.Rejected, Reason = $"{problem} Nothing was queued." };
        }

        request = request with { Target = target };
        var known = ParsedInput.Parse(request.Text, catalog).Match?.Command;
        var policy = known is null ? null : QueuedCommands.For(known, CommandType.DeviceRoute, request.Text, request.Target);
        var mayWait = known is null || policy is not null;
        var entry = (policy ?? new EnqueueRequest { Type = CommandType.DeviceRoute, Text = request.Text, Target = request.Target }) with { UniqueKey = request.UniqueKey };
        if (!mayWait && (hub is null || sync is null))
        {
            return Refused(request, "no hub is configured (ISAAC_HUB)", known);
        }

        if (hub is null || sync is null)
        {
            var queued = await queue.EnqueueAsync(entry, cancellationToken).ConfigureAwait(false);
            return Queued(queued.Id, queued.Ahead, "no hub is configured (ISAAC_HUB)");
        }

        sync.TypedNow(request.UniqueKey);
        var (id, _, _, ahead) = await queue.EnqueueAsync(entry, cancellationToken).ConfigureAwait(false);
        var outcome = await DeliverAsync(sync, request, id, ahead, mayWait, known, cancellationToken).ConfigureAwait(false);
        if (outcome.Status != RouteStatus.Accepted)
        {
            sync.NowQueued(request.UniqueKey);
        }

        return outcome;
    }

    private async Task<RouteOutcome> DeliverAsync(SyncPipeline pipeline, RouteRequest request, long id, int ahead, bool mayWait, LoadedCommand? known, CancellationToken cancellationToken)
    {
        // A hub known to be away is not tried again for each command typed: the probe delivers the queue when it is back.
        if (connectivity?.Current is { Online: false } offline && offline.Since != DateTimeOffset.MinValue && mayWait)
        {
            return Queued(id, ahead, offline.Reason);
        }

        var report = await pipeline.DrainAsync(cancellationToken).ConfigureAwait(false);
        var state = await queue.GetStateAsync(id, cancellationToken).ConfigureAwait(false);
        if (state.Status is "pending" or "syncing" or "failed" && report.Reason == SyncPipeline.AnotherDrainer)
        {
            state = await WatchAsync(id, state, cancellationToken).ConfigureAwait(false);
        }

        switch (state)
        {
            case { Status: "done", HubId: { } hubId }:
                return await ResultAsync(request, hubId, known?.Kind == HandlerKind.Task, cancellationToken).ConfigureAwait(false);
            case { Status: "dead" }:
                return new RouteOutcome { Status = RouteStatus.Rejected, Reason = state.Error ?? "the hub refused it", QueuedId = id };
            case { Status: "gone" }:
                return new RouteOutcome { Status = RouteStatus.Rejected, Reason = $"#{id} was dropped from the queue before it could be delivered", QueuedId = id };
        }

        if (!mayWait && await queue.DropAsync(id, cancellationToken).ConfigureAwait(false))
        {
            return Refused(request, report.Reason ?? state.Error ?? "the hub did not take it", known);
        }

        return Queued(id, ahead, report.Reason ?? state.Error ?? (ahead > 0 ? "older commands for this device are still waiting" : "the hub has not taken it yet"));
    }

    public async Task<DeviceList> ListDevicesAsync(CancellationToken cancellationToken = default)
    {
        var waiting = await queue.CountWaitingByTargetAsync(cancellationToken).ConfigureAwait(false);
        var live = hub is null ? null : await hub.DevicesAsync(cancellationToken).ConfigureAwait(false);
        if (live is not null)
        {
            await queue.RememberAsync(DevicesKey, JsonSerializer.Serialize(new KnownDevices { At = _time.GetUtcNow(), Devices = [.. live] }, HubJson.Default.KnownDevices), cancellationToken)
                .ConfigureAwait(false);
            return new DeviceList { Devices = Merge(live, waiting), Live = true, AsOf = _time.GetUtcNow() };
        }

        // The hub is away: the last list it gave, marked as such, plus what waits here (nobody is known to be online).
        var known = await queue.RecallAsync(DevicesKey, cancellationToken).ConfigureAwait(false) is { } json ? Parse(json) : null;
        return new DeviceList
        {
            Devices = Merge((known?.Devices ?? []).Select(d => d with { Online = false }).ToList(), waiting),
            Live = false,
            AsOf = known?.At,
            Reason = hub is null ? "no hub is configured (ISAAC_HUB)" : connectivity?.Current.Reason ?? "the hub did not answer",
        };
    }

    private const string DevicesKey = "hub_devices";

    private static KnownDevices? Parse(string json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, HubJson.Default.KnownDevices);
        }
        catch (JsonException)
        {
            return null; // a cache, not a record: a damaged one is simply not used
        }
    }

    private static List<DeviceStatus> Merge(IReadOnlyList<DeviceRecord> devices, IReadOnlyDictionary<string, int> waiting) =>
        devices.Select(d => d.Name).Union(waiting.Keys).Order(StringComparer.Ordinal).Select(name =>
        {
            var record = devices.FirstOrDefault(d => d.Name == name);
            return new DeviceStatus
            {
                Name = name,
                Online = record?.Online ?? false,
                LastSeen = record?.LastSeen,
                QueuedAtHub = record?.Queued ?? 0,
                InFlight = record?.InFlight ?? 0,
                Tasks = record?.Tasks ?? 0,
                OldestTaskSince = record?.OldestTaskSince,
                WaitingHere = waiting.GetValueOrDefault(name),
            };
        }).ToList();

    public Task<RoutedCommand?> WaitAsync(string id, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        hub?.WaitAsync(id, timeout, cancellationToken) ?? Task.FromResult<RoutedCommand?>(null);

    private async Task<RouteOutcome> ResultAsync(RouteRequest request, string hubId, bool task, CancellationToken cancellationToken)
    {
        // Waiting makes sense only for a device that is there to run it; an offline one gets it when it connects.
        // A task's result may be hours away: the person waits only for the device to take it (docs/tasks.md).
        var current = await WaitAsync(hubId, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
        var deadline = request.Deadline ?? _time.GetUtcNow();
        if (task)
        {
            deadline = Min(deadline, _time.GetUtcNow() + _taskAcceptanceWait);
            while (current is { TargetOnline: true, IsFinished: false, Status: RoutedStatus.Accepted or RoutedStatus.Assigned } && _time.GetUtcNow() < deadline)
            {
                await Task.Delay(_pollInterval, _time, cancellationToken).ConfigureAwait(false);
                current = await WaitAsync(hubId, TimeSpan.Zero, cancellationToken).ConfigureAwait(false) ?? current;
            }
        }
        else if (current is { TargetOnline: true, IsFinished: false } && deadline - _time.GetUtcNow() is { } wait && wait > TimeSpan.Zero)
        {
            current = await WaitAsync(hubId, wait, cancellationToken).ConfigureAwait(false) ?? current;
        }

        current ??= new RoutedCommand { Id = hubId, Target = request.Target, Text = request.Text, Status = RoutedStatus.Accepted };
        await queue.TrackRoutedAsync(current, cancellationToken).ConfigureAwait(false);
        if (current.IsFinished)
        {
            // The person sees this result now; the result inbox must not announce it a second time.
            await queue.MarkShownAsync(hubId, cancellationToken).ConfigureAwait(false);
        }

        return new RouteOutcome { Status = RouteStatus.Accepted, Command = current, IsTask = task };
    }

    // Until another process's drain delivers it, it fails, or the wait is over.
    private async Task<QueuedState> WatchAsync(long id, QueuedState state, CancellationToken cancellationToken)
    {
        var until = _time.GetUtcNow() + _otherDrainerWait;
        while (state.Status is "pending" or "syncing" && _time.GetUtcNow() < until)
        {
            await Task.Delay(_pollInterval, _time, cancellationToken).ConfigureAwait(false);
            state = await queue.GetStateAsync(id, cancellationToken).ConfigureAwait(false);
        }

        return state;
    }

    private static RouteOutcome Queued(long id, int ahead, string reason) =>
        new() { Status = RouteStatus.Queued, QueuedId = id, Ahead = ahead, Reason = reason };

    private static RouteOutcome Refused(RouteRequest request, string why, LoadedCommand? command) => new()
    {
        Status = RouteStatus.Rejected,
        Reason = $"'{request.Text}' could not be delivered now ({why}), and it may not wait in the queue: queue.allowed is false in {command?.ManifestPath ?? "its manifest"}. Nothing was queued.",
    };
}
