using System.Reactive.Linq;
using Isaac.Core.Queue;
using Isaac.Core.Tests.Support;
using Isaac.Plugins;

namespace Isaac.Core.Tests.Queue;

/// <summary>The queue file shared with, and abused by, real other processes.</summary>
public sealed class CommandQueueProcessTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string DbPath => _dir.Combine("queue.db");

    [Fact(Timeout = 30_000)]
    public async Task Commands_survive_a_process_restart_in_order()
    {
        // Arrange: another process enqueues and exits.
        using (var writer = QueueDriverProcess.Start("enqueue", DbPath, "12", "restart"))
        {
            await writer.ExitCleanlyAsync();
        }

        // Act
        await using var queue = new CommandQueue(DbPath);
        var listed = await queue.ListAsync(QueueView.Pending, 100);

        // Assert
        Assert.Equal(Enumerable.Range(0, 12).Select(i => $"/status restart-{i}"), listed.Select(c => c.Text));
    }

    [Fact(Timeout = 120_000)]
    public async Task No_acknowledged_enqueue_is_lost_when_the_writer_is_killed_at_20_random_points()
    {
        var random = new Random(2026);
        var acknowledged = new HashSet<long>();
        for (var round = 0; round < 20; round++)
        {
            // Arrange: a burst writer, killed with SIGKILL after a random delay.
            using var writer = QueueDriverProcess.Start("enqueue", DbPath, "100000", $"round{round}");
            await writer.WaitForAsync("ack", 1);
            await Task.Delay(random.Next(0, 150));

            // Act
            await writer.KillAsync();
            acknowledged.UnionWith(writer.Ids("ack"));
        }

        // Assert: every id the writers acknowledged is in the file, and the file is sound.
        await using var queue = new CommandQueue(DbPath);
        var stored = (await queue.ListAsync(QueueView.Pending, int.MaxValue)).Select(c => c.Id).ToHashSet();
        Assert.Null(queue.RecoveryNotice);
        Assert.True(acknowledged.Count > 20, $"only {acknowledged.Count} acknowledged");
        Assert.Empty(acknowledged.Except(stored));
    }

    [Fact(Timeout = 120_000)]
    public async Task No_acknowledged_enqueue_is_lost_when_four_concurrent_writers_are_killed_at_random_points()
    {
        // Four writers at once share fsyncs (group commit): a writer acknowledges only after its own fsync, whoever's
        // commit came after.
        var random = new Random(4242);
        var acknowledged = new HashSet<long>();
        for (var round = 0; round < 8; round++)
        {
            // Arrange
            var writers = Enumerable.Range(0, 4).Select(w => QueueDriverProcess.Start("enqueue", DbPath, "100000", $"r{round}w{w}")).ToList();
            foreach (var writer in writers)
            {
                await writer.WaitForAsync("ack", 1);
            }

            // Act: each killed at its own random instant.
            foreach (var writer in writers.OrderBy(_ => random.Next()))
            {
                await Task.Delay(random.Next(0, 60));
                await writer.KillAsync();
                acknowledged.UnionWith(writer.Ids("ack"));
                writer.Dispose();
            }
        }

        // Assert
        await using var queue = new CommandQueue(DbPath);
        var stored = (await queue.ListAsync(QueueView.Pending, int.MaxValue)).Select(c => c.Id).ToHashSet();
        Assert.Null(queue.RecoveryNotice);
        Assert.True(acknowledged.Count > 32, $"only {acknowledged.Count} acknowledged");
        Assert.Empty(acknowledged.Except(stored));
        Assert.Equal(stored.Count, (await queue.GetStatusAsync()).Queued);
    }

    [Fact(Timeout = 120_000)]
    public async Task Two_processes_enqueueing_and_draining_at_once_neither_lose_nor_double_claim()
    {
        // Act
        using var one = QueueDriverProcess.Start("mixed", DbPath, "400", "one");
        using var two = QueueDriverProcess.Start("mixed", DbPath, "400", "two");
        await one.ExitCleanlyAsync();
        await two.ExitCleanlyAsync();
        using var sweeper = QueueDriverProcess.Start("drain", DbPath);
        await sweeper.ExitCleanlyAsync();

        // Assert
        var acknowledged = one.Ids("ack").Concat(two.Ids("ack")).ToArray();
        var claimed = one.Ids("claimed").Concat(two.Ids("claimed")).Concat(sweeper.Ids("claimed")).ToArray();
        Assert.Equal(800, acknowledged.Distinct().Count());
        Assert.Equal(claimed.Length, claimed.Distinct().Count());
        Assert.Equal(acknowledged.Order(), claimed.Order());
        await using var queue = new CommandQueue(DbPath);
        Assert.Equal(800, (await queue.GetStatusAsync()).Done);
    }

    [Fact(Timeout = 60_000)]
    public async Task Four_processes_creating_the_same_new_database_at_once_all_succeed()
    {
        var drivers = Enumerable.Range(0, 4).Select(i => QueueDriverProcess.Start("enqueue", DbPath, "5", $"p{i}")).ToList();
        foreach (var driver in drivers)
        {
            await driver.ExitCleanlyAsync();
            driver.Dispose();
        }

        await using var queue = new CommandQueue(DbPath);
        Assert.Equal(20, (await queue.GetStatusAsync()).Pending);
    }

    [Fact(Timeout = 30_000)]
    public async Task The_status_stream_replays_the_current_status_then_each_change()
    {
        await using var queue = new CommandQueue(DbPath);
        await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.Meta, Text = "/before" });
        var seen = new List<QueueStatus>();
        using var subscription = queue.Changes.Subscribe(s => { lock (seen) { seen.Add(s); } });
        await WaitUntilAsync(() => seen.Count >= 1);

        var id = (await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.Meta, Text = "/after" })).Id;
        await queue.ClaimAsync();
        await queue.GetStatusAsync();
        await queue.MarkDoneAsync([id - 1, id]);

        await WaitUntilAsync(() => seen.LastOrDefault()?.Done == 2);
        Assert.Equal(1, seen[0].Pending);
        Assert.Contains(seen, s => s.Pending == 2);
        Assert.Contains(seen, s => s.Syncing == 2);
        Assert.Equal(seen.Count, seen.Distinct().Count());
    }

    [Fact(Timeout = 30_000)]
    public async Task The_status_stream_sees_commands_another_process_enqueues()
    {
        await using var queue = new CommandQueue(DbPath, QueueOptions.Default with { ChangePollInterval = TimeSpan.FromMilliseconds(50) });
        var latest = queue.Changes.Replay(1);
        using var connection = latest.Connect();
        Assert.Equal(0, (await latest.FirstAsync()).Pending);

        using (var writer = QueueDriverProcess.Start("enqueue", DbPath, "3", "other"))
        {
            await writer.ExitCleanlyAsync();
        }

        var status = await latest.Where(s => s.Pending == 3).FirstAsync().Timeout(TimeSpan.FromSeconds(10));
        Assert.Equal(3, status.Queued);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
        }

        Assert.True(condition());
    }
}
