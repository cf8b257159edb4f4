using System.Threading.Channels;
using Isaac.Core.Queue;
using Isaac.Core.Routing;
using Isaac.Core.Tests.Support;
using Isaac.Core.Wire;
using Isaac.Plugins;
using Microsoft.Extensions.Time.Testing;

namespace Isaac.Core.Tests.Sync;

/// <summary>The sender's record of routed commands: a batch the hub took, or the results one poll brought, is one transaction.</summary>
public sealed class RoutedTrackingTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact(Timeout = 30_000)]
    public async Task Tracking_a_hundred_routed_commands_and_then_their_results_costs_one_transaction_each_and_each_result_arrives_once()
    {
        // Arrange
        await using var queue = new CommandQueue(_dir.Combine("queue.db"));
        await queue.GetStatusAsync();
        var wal = _dir.Combine("queue.db-wal");
        var accepted = Enumerable.Range(0, 100).Select(i => new RoutedCommand { Id = $"h{i}", Target = "laptop2", Text = $"/job {i}", Status = "accepted" }).ToList();

        // Act
        var before = WalCommits.Count(wal);
        await queue.TrackRoutedAsync(accepted);
        var afterDelivery = WalCommits.Count(wal);
        await queue.TrackRoutedAsync([.. accepted.Select(c => c with { Status = "completed", Result = CommandResponse.Ok(c.Text) })]);
        var afterResults = WalCommits.Count(wal);
        var arrived = await queue.TakeArrivedAsync();
        var again = await queue.TakeArrivedAsync();

        // Assert
        Assert.Equal((1, 1), (afterDelivery - before, afterResults - afterDelivery));
        Assert.Equal(accepted.Select(c => c.Id).Order(), arrived.Select(c => c.Id).Order());
        Assert.All(arrived, c => Assert.Equal(c.Text, c.Result?.Stdout));
        Assert.Empty(again);
        Assert.Empty(await queue.ListUnfinishedRoutedAsync());
    }

    [Fact(Timeout = 60_000)]
    public async Task The_inbox_asks_the_hub_as_soon_as_this_process_routes_a_command_not_at_its_next_idle_check()
    {
        // Arrange: a real hub, a scripted agent for laptop2, and an inbox whose clock never moves, so that only the
        // wake-up of a newly routed command can start another pass. An earlier, unshown result makes the first pass
        // announce something: once it has, the inbox is known to be idle.
        using var hub = new HubHarness();
        await hub.AddDevicesAsync("desktop", "laptop2");
        await hub.StartHubAsync();
        await using var agent = await hub.ConnectAgentAsync("laptop2");
        await agent.HelloAsync();
        using var client = new HubClient(new Uri(hub.Address), hub.Token("desktop"));
        await using var queue = new CommandQueue(_dir.Combine("queue.db"));
        await queue.TrackRoutedAsync(new RoutedCommand { Id = "earlier", Target = "laptop2", Text = "/earlier", Status = "completed", Result = CommandResponse.Ok("before") });
        var announced = Channel.CreateUnbounded<string>();
        await using var inbox = new ResultInbox(queue, client, line => announced.Writer.TryWrite(line), new FakeTimeProvider());
        inbox.Start();
        Assert.Contains("/earlier", await announced.Reader.ReadAsync());

        // Act: a command reaches the hub and completes; the sender records it as the sync pipeline does.
        var outcome = await client.RouteAsync(new RouteRequest { Target = "laptop2", Text = "/status", UniqueKey = "k1" });
        AgentMessage assign;
        do
        {
            assign = await agent.Next();
        }
        while (assign.Text is null);

        await agent.SendAsync("accepted", assign.Id!);
        await agent.SendAsync(new AgentMessage { Type = "completed", Id = assign.Id, Result = CommandResponse.Ok("all fine") });
        await queue.TrackRoutedAsync(outcome.Command!);

        // Assert
        var line = await announced.Reader.ReadAsync();
        Assert.Contains("/status: completed", line);
        Assert.Contains("all fine", line);
    }
}
