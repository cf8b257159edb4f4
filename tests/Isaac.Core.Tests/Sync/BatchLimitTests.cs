using Isaac.Core.Queue;
using Isaac.Core.Sync;
using Isaac.Core.Tests.Support;
using Isaac.Core.Wire;

namespace Isaac.Core.Tests.Sync;

/// <summary>Batches against the real hub's 64 KiB body limit: split to fit, and what can never fit is dead-lettered with the hub's reason.</summary>
public sealed class BatchLimitTests : IDisposable
{
    private readonly HubHarness _hub = new();

    public void Dispose() => _hub.Dispose();

    [Fact(Timeout = 60_000)]
    public async Task Commands_larger_together_than_the_body_limit_are_delivered_in_several_batches_and_an_oversized_one_is_dead_lettered_with_the_reason()
    {
        // Arrange: 20 commands of 6 KiB (120 KiB together), and one of 70 KiB in the middle
        await _hub.AddDevicesAsync("desktop", "laptop2");
        await _hub.StartHubAsync();
        await using var queue = new CommandQueue(Path.Combine(_hub.Home("desktop"), "queue.db"));
        var ids = new List<long>();
        for (var i = 0; i < 21; i++)
        {
            var text = i == 10 ? "/echo " + new string('x', 70 * 1024) : $"/echo {i} " + new string('y', 6 * 1024);
            ids.Add((await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.DeviceRoute, Text = text, Target = "laptop2" })).Id);
        }

        using var client = new HubClient(new Uri(_hub.Address), _hub.Token("desktop"));
        await using var connectivity = new ConnectivityMonitor(client.IsAvailableAsync);
        await using var sync = new SyncPipeline(queue, client, connectivity, Path.Combine(_hub.Home("desktop"), "sync.lock"));

        // Act
        var report = await sync.SyncNowAsync();

        // Assert
        Assert.True(report.HubAvailable);
        Assert.Equal(20, report.Synced);
        Assert.Equal(0, report.Remaining);
        var dead = Assert.Single(await queue.ListAsync(Isaac.Plugins.QueueView.Dead, 10));
        Assert.Equal(ids[10], dead.Id);
        Assert.Contains("413", dead.LastError);
        foreach (var id in ids.Where(id => id != ids[10]))
        {
            Assert.Equal("done", (await queue.GetStateAsync(id)).Status);
        }
    }
}
