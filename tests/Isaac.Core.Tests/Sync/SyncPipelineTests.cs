using Isaac.Core.Queue;
using Isaac.Core.Sync;
using Isaac.Core.Tests.Support;
using Isaac.Core.Wire;

namespace Isaac.Core.Tests.Sync;

/// <summary>The sync pipeline against a real hub process and real agent processes.</summary>
public sealed class SyncPipelineTests : IDisposable
{
    // Appends the command's first argument to $ISAAC_HOME/count: a record of what ran, in order.
    private const string Count = """req=$(cat); echo "$req" | grep -o '"args":\["[^"]*"' | cut -d'"' -f4 >> "$ISAAC_HOME/count"; printf '{"status":"success","stdout":"ok"}'""";

    private static readonly ConnectivityOptions _fast = new()
    {
        OnlineProbeInterval = TimeSpan.FromMilliseconds(500),
        OfflineProbeMin = TimeSpan.FromMilliseconds(100),
        OfflineProbeMax = TimeSpan.FromMilliseconds(500),
    };

    private readonly HubHarness _hub = new();

    public void Dispose() => _hub.Dispose();

    private async Task SetUpAsync(params string[] targets)
    {
        await _hub.AddDevicesAsync(["desktop", .. targets]);
        foreach (var target in targets)
        {
            _hub.AddCommand(target, "count", Count);
        }
    }

    private async Task EnqueueAsync(CommandQueue queue, string target, int from, int count)
    {
        for (var i = from; i < from + count; i++)
        {
            await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.DeviceRoute, Text = $"/count {i}", Target = target });
        }
    }

    private async Task WaitForCountsAsync(string target, int expected, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (_hub.Counted(target).Length < expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        await Task.Delay(500); // anything extra (a duplicate) would show up now
    }

    private static IEnumerable<string> Sequence(int from, int count) => Enumerable.Range(from, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture));

    [Fact(Timeout = 180_000)]
    public async Task A_thousand_commands_queued_while_the_hub_was_down_are_delivered_once_each_in_order_per_device()
    {
        // Arrange: the hub is down while 1,000 commands queue up for two devices.
        await SetUpAsync("laptop2", "nas");
        await using var queue = new CommandQueue(Path.Combine(_hub.Home("desktop"), "queue.db"));
        await EnqueueAsync(queue, "laptop2", 0, 500);
        await EnqueueAsync(queue, "nas", 500, 500);
        using var client = new HubClient(new Uri(_hub.Address), _hub.Token("desktop"));
        await using var connectivity = new ConnectivityMonitor(client.IsAvailableAsync, _fast);
        await using var sync = new SyncPipeline(queue, client, connectivity, Path.Combine(_hub.Home("desktop"), "sync.lock"));
        var offline = await sync.SyncNowAsync();
        var events = new List<SyncEvent>();
        using var watching = sync.Events.Subscribe(events.Add);

        // Act: the hub comes back; devices run one command at a time so their order is observable.
        await _hub.StartHubAsync();
        _hub.StartAgent("laptop2", capacity: 1);
        _hub.StartAgent("nas", capacity: 1);
        var report = await sync.SyncNowAsync();
        await WaitForCountsAsync("laptop2", 500, TimeSpan.FromSeconds(120));
        await WaitForCountsAsync("nas", 500, TimeSpan.FromSeconds(60));

        // Assert
        Assert.False(offline.HubAvailable);
        Assert.Equal(1000, offline.Remaining);
        Assert.Equal(1000, report.Synced);
        Assert.Equal(0, report.Remaining);
        Assert.Equal(Sequence(0, 500), _hub.Counted("laptop2"));
        Assert.Equal(Sequence(500, 500), _hub.Counted("nas"));
        Assert.False(events[0].Finished);
        Assert.InRange(events[0].Synced, 500, 999);
        Assert.Equal(1000, events[0].Synced + events[0].Remaining);
        Assert.Equal("1000 queued command(s) synced", events[^1].ToString());
    }

    [Fact(Timeout = 180_000)]
    public async Task A_hub_flapping_every_two_seconds_loses_nothing_and_duplicates_nothing()
    {
        // Arrange: the pipeline runs by itself; commands keep arriving.
        await SetUpAsync("laptop2");
        await _hub.StartHubAsync();
        _hub.StartAgent("laptop2");
        await using var queue = new CommandQueue(Path.Combine(_hub.Home("desktop"), "queue.db"));
        using var client = new HubClient(new Uri(_hub.Address), _hub.Token("desktop"));
        await using var connectivity = new ConnectivityMonitor(client.IsAvailableAsync, _fast);
        await using var sync = new SyncPipeline(queue, client, connectivity, Path.Combine(_hub.Home("desktop"), "sync.lock"));
        sync.Start();

        // Act: 20 s of the hub dying and coming back every 2 s, with 10 new commands every second.
        var next = 0;
        for (var second = 0; second < 20; second++)
        {
            await EnqueueAsync(queue, "laptop2", next, 10);
            next += 10;
            if (second % 2 == 0)
            {
                _hub.KillHub();
            }
            else
            {
                await _hub.StartHubAsync();
            }

            await Task.Delay(1000);
        }

        await _hub.StartHubAsync();
        await WaitForCountsAsync("laptop2", next, TimeSpan.FromSeconds(90));

        // Assert: every command ran exactly once, in the order it was queued
        Assert.Equal(Sequence(0, next), _hub.Counted("laptop2"));
        Assert.Equal(0, (await queue.GetStatusAsync()).Queued);
    }

    [Fact(Timeout = 180_000)]
    public async Task A_sender_killed_mid_drain_and_restarted_duplicates_nothing()
    {
        // Arrange
        await SetUpAsync("laptop2");
        await using (var queue = new CommandQueue(Path.Combine(_hub.Home("desktop"), "queue.db")))
        {
            await EnqueueAsync(queue, "laptop2", 0, 300);
        }

        await _hub.StartHubAsync();
        _hub.StartAgent("laptop2");

        // Act: a /sync killed while it drains, then another.
        var first = _hub.StartOnce("desktop", "/sync");
        while (_hub.Counted("laptop2").Length < 20 && !first.HasExited)
        {
            await Task.Delay(20);
        }

        first.Kill();
        await first.WaitForExitAsync();
        var second = await _hub.RunAsync("desktop", "/sync");
        await WaitForCountsAsync("laptop2", 300, TimeSpan.FromSeconds(90));

        // Assert
        Assert.True(second.ExitCode == 0, second.ToString());
        var counted = _hub.Counted("laptop2");
        Assert.Equal(counted.Length, counted.Distinct().Count());
        Assert.Equal(Sequence(0, 300).Order(), counted.Order());
    }
}
