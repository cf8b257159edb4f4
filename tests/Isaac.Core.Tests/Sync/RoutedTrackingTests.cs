using Isaac.Core.Queue;
using Isaac.Core.Tests.Support;
using Isaac.Plugins;

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
}
