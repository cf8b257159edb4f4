using CsCheck;
using Isaac.Core.Queue;
using Isaac.Core.Tests.Support;
using Isaac.Plugins;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Isaac.Core.Tests.Queue;

/// <summary>
/// Schema version 4 keeps counters instead of counting, seeks instead of scanning and hands out ids without
/// AUTOINCREMENT: the counters always equal the rows, the hot queries use an index, ids are never reused, and an
/// upgrade from version 3 keeps every command.
/// </summary>
public sealed class QueueCounterTests : IDisposable
{
    private static readonly string?[] _targets = ["laptop2", "desktop", null];

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private enum Op { Enqueue, Coalesce, Claim, Done, Fail, FailForGood, Release, Drop, Retry, Purge }

    [Fact(Timeout = 120_000)]
    public async Task The_counters_equal_the_rows_and_ids_are_never_reused_after_any_sequence_of_operations()
    {
        var gen = Gen.Select(Gen.Enum<Op>(), Gen.Int[0, 2], Gen.Int[0, 5]).Array[1, 30];
        await gen.SampleAsync(async operations =>
        {
            // Arrange
            using var dir = new TempDir();
            var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));
            await using var queue = new CommandQueue(Path.Combine(dir.Path, "queue.db"), QueueOptions.Default with { MaxAttempts = 2 }, clock, new FixedRandom(0.5));
            var issued = new List<long>();
            var claimed = new List<long>();

            // Act
            foreach (var (op, target, pick) in operations)
            {
                switch (op)
                {
                    case Op.Enqueue or Op.Coalesce:
                        var id = (await queue.EnqueueAsync(new EnqueueRequest
                        {
                            Type = CommandType.DeviceRoute,
                            Text = $"/c {issued.Count}",
                            Target = _targets[target],
                            CoalesceKey = op == Op.Coalesce ? "k" : null,
                        })).Id;
                        Assert.True(issued.Count == 0 || id > issued.Max(), $"id {id} reused or not increasing after {string.Join(',', issued)}");
                        issued.Add(id);
                        break;
                    case Op.Claim:
                        claimed.AddRange((await queue.ClaimAsync(pick + 1)).SelectMany(b => b.Commands).Select(c => c.Id));
                        break;
                    case Op.Done or Op.Fail or Op.FailForGood or Op.Release when claimed.Count > 0:
                        var one = claimed[pick % claimed.Count];
                        claimed.Remove(one);
                        await (op switch
                        {
                            Op.Done => queue.MarkDoneAsync([one]),
                            Op.Release => queue.ReleaseAsync([one]),
                            _ => queue.MarkFailedAsync(one, "refused", permanent: op == Op.FailForGood),
                        });
                        break;
                    case Op.Drop when issued.Count > 0:
                        await queue.DropAsync(issued[pick % issued.Count]);
                        break;
                    case Op.Retry:
                        await queue.RetryAsync(pick == 0 || issued.Count == 0 ? null : issued[pick % issued.Count]);
                        break;
                    case Op.Purge:
                        clock.Advance(TimeSpan.FromDays(8));
                        await queue.HousekeepAsync();
                        claimed.Clear(); // housekeeping made them pending again
                        break;
                }

                clock.Advance(TimeSpan.FromMinutes(1));
            }

            // Assert
            var status = await queue.GetStatusAsync();
            var counted = Counted(queue.DatabasePath);
            Assert.Equal(counted, Counters(queue.DatabasePath));
            Assert.Equal(counted.Where(c => c.Status == "pending").Sum(c => c.N), status.Pending);
            Assert.Equal(counted.Where(c => c.Status == "failed").Sum(c => c.N), status.Failed);
            Assert.Equal(counted.Where(c => c.Status == "dead").Sum(c => c.N), status.Dead);
            Assert.Equal(counted.Where(c => c.Status == "done").Sum(c => c.N), status.Done);
            var waiting = counted.Where(c => c.Target != "" && c.Status is "pending" or "syncing" or "failed" && c.N > 0)
                .GroupBy(c => c.Target).ToDictionary(g => g.Key, g => g.Sum(c => c.N));
            Assert.Equal(waiting.OrderBy(w => w.Key), (await queue.CountWaitingByTargetAsync()).Select(w => KeyValuePair.Create(w.Key, (long)w.Value)).OrderBy(w => w.Key));
            foreach (var target in _targets)
            {
                var ahead = counted.Where(c => c.Target == (target ?? "") && c.Status is "pending" or "syncing" or "failed").Sum(c => c.N);
                Assert.Equal(ahead, (await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.DeviceRoute, Text = "/last", Target = target })).Ahead);
            }
        }, iter: 40, threads: 1);
    }

    [Fact]
    public async Task The_claim_the_status_and_the_listings_seek_through_indexes_and_never_scan_the_queue()
    {
        // Arrange: a queue with rows in every state.
        var path = _dir.Combine("queue.db");
        await using (var queue = new CommandQueue(path))
        {
            for (var i = 0; i < 50; i++)
            {
                await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.DeviceRoute, Text = $"/c {i}", Target = _targets[i % 3] });
            }

            var claimed = (await queue.ClaimAsync(5)).SelectMany(b => b.Commands).ToList();
            await queue.MarkDoneAsync([claimed[0].Id]);
            await queue.MarkFailedAsync(claimed[1].Id, "refused");
        }

        using var connection = Open(path);
        connection.Execute("ANALYZE;");

        // Act
        var plans = new Dictionary<string, string>
        {
            ["claim targets"] = Plan(connection, CommandQueue.WaitingTargetsSql),
            ["claim head"] = Plan(connection, CommandQueue.HeadSql),
            ["list waiting"] = Plan(connection, CommandQueue.WaitingListSql),
            ["list failed"] = Plan(connection, CommandQueue.FailedListSql),
            ["routed recent"] = Plan(connection, CommandQueue.RecentRoutedSql),
            ["routed open"] = Plan(connection, CommandQueue.OpenRoutedSql),
            ["routed arrived"] = Plan(connection, CommandQueue.ArrivedSql),
        };

        // Assert
        // The one walk allowed is of the failed-only partial index: it holds nothing but the rows it lists.
        Assert.All(plans, plan => Assert.DoesNotMatch("SCAN command_queue(?! USING INDEX ix_command_queue_failed)", plan.Value));
        Assert.Contains("SEARCH command_queue USING INDEX ix_command_queue_waiting (target_device=?)", plans["claim head"]);
        Assert.Contains("SEARCH command_queue USING INDEX ix_command_queue_waiting (target_device=?)", plans["list waiting"]);
        Assert.Contains("ix_command_queue_failed", plans["list failed"]);
        Assert.DoesNotContain("TEMP B-TREE", plans["claim head"]);
        Assert.All(plans, plan => Assert.DoesNotContain("SCAN routed\n", plan.Value + "\n"));
        Assert.Contains("ix_routed_at", plans["routed recent"]);
        Assert.Contains("ix_routed_open", plans["routed open"]);
        Assert.Contains("ix_routed_unshown", plans["routed arrived"]);
    }

    [Fact]
    public async Task An_upgrade_from_version_3_keeps_every_command_its_id_and_the_counts_and_never_reuses_an_id()
    {
        // Arrange: a version 3 file with waiting, delivered, failed and dead commands, whose newest id was dropped.
        var path = _dir.Combine("queue.db");
        var version3 = CommandQueue.Schema with { Migrations = [.. CommandQueue.Schema.Migrations.Take(3)] };
        using (var store = SqliteStore.Open(path, version3))
        {
            var connection = store.Connection;
            for (var i = 1; i <= 12; i++)
            {
                var state = (i % 4) switch { 0 => "done", 1 => "failed", _ => "pending" };
                connection.Execute("""
                    INSERT INTO command_queue (queued_at, command_type, command_text, target_device, status, unique_key, next_attempt_at)
                    VALUES ('2026-11-23T09:00:00.0000000Z', 'device_route', $text, $target, $status, $key, '2026-11-23T09:00:00.0000000Z');
                    """, null, ("$text", $"/c {i}"), ("$target", i % 3 == 0 ? null : "laptop2"), ("$status", state), ("$key", $"key-{i}"));
            }

            connection.Execute("""
                INSERT INTO dead_letter (id, queued_at, command_type, command_text, target_device, unique_key, parallel, attempts, final_error, failed_at)
                SELECT id, queued_at, command_type, command_text, target_device, unique_key, parallel, 3, 'refused', queued_at FROM command_queue WHERE id = 5;
                DELETE FROM command_queue WHERE id IN (5, 12);
                """);
            Assert.Equal(3, connection.Scalar<long>("PRAGMA user_version;"));
        }

        // Act
        await using var queue = new CommandQueue(path);
        var status = await queue.GetStatusAsync();
        var next = (await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.Meta, Text = "/after" })).Id;

        // Assert
        Assert.Equal(CommandQueue.SchemaVersion, Scalar(path, "PRAGMA user_version;"));
        Assert.Equal(6, status.Pending); // 2, 3, 6, 7, 10, 11
        Assert.Equal(2, status.Failed); // 1, 9
        Assert.Equal(2, status.Done); // 4, 8
        Assert.Equal(1, status.Dead); // 5
        Assert.Equal(13, next); // 12 was handed out before, so never again
        Assert.Equal(Counted(path), Counters(path));
        Assert.Equal([1L, 2, 3, 6, 7, 9, 10, 11, 13], (await queue.ListAsync(QueueView.Pending, 100)).Select(c => c.Id));
        Assert.Equal("/c 7", (await queue.ListAsync(QueueView.Pending, 100)).Single(c => c.Id == 7).Text);
        Assert.Null(queue.RecoveryNotice);
    }

    [Fact]
    public async Task An_enqueue_writes_three_pages_its_row_its_place_in_the_target_s_line_and_the_counter()
    {
        // Arrange: an open queue, its first writes done.
        var path = _dir.Combine("queue.db");
        await using var queue = new CommandQueue(path);
        await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.DeviceRoute, Text = "/first", Target = "laptop2" });
        var before = WalCommits.Read(path + "-wal");

        // Act
        const int Count = 40;
        for (var i = 0; i < Count; i++)
        {
            await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.DeviceRoute, Text = $"/c {i}", Target = "laptop2", UniqueKey = Guid.NewGuid().ToString("N") });
        }

        // Assert: one commit each, three pages each but for the few leaf splits of a growing table and index (a unique
        // key index, as before schema version 5, would add a fourth page to every one).
        var after = WalCommits.Read(path + "-wal");
        Assert.Equal(Count, after.Commits - before.Commits);
        Assert.InRange(after.Frames - before.Frames, 3 * Count, 3 * Count + 8);
    }

    [Fact]
    public async Task A_unique_key_used_twice_is_queued_twice_for_the_hub_to_settle()
    {
        // Arrange
        await using var queue = new CommandQueue(_dir.Combine("queue.db"));
        var request = new EnqueueRequest { Type = CommandType.DeviceRoute, Text = "/status", Target = "laptop2", UniqueKey = "same-key" };

        // Act
        var first = await queue.EnqueueAsync(request);
        var second = await queue.EnqueueAsync(request);

        // Assert
        Assert.Equal(first.Id + 1, second.Id);
        Assert.Equal(1, second.Ahead);
        Assert.Equal(["same-key", "same-key"], (await queue.ClaimAsync(10)).SelectMany(b => b.Commands).Select(c => c.UniqueKey));
    }

    [Fact]
    public async Task A_dropped_newest_command_s_id_is_not_handed_out_again()
    {
        // Arrange
        await using var queue = new CommandQueue(_dir.Combine("queue.db"));
        var first = (await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.Meta, Text = "/a" })).Id;
        var newest = (await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.Meta, Text = "/b" })).Id;

        // Act
        Assert.True(await queue.DropAsync(newest));
        var next = (await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.Meta, Text = "/c" })).Id;

        // Assert
        Assert.Equal(first + 1, newest);
        Assert.Equal(newest + 1, next);
    }

    private static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        return connection;
    }

    private static long Scalar(string path, string sql)
    {
        using var connection = Open(path);
        return connection.Scalar<long>(sql);
    }

    private static string Plan(SqliteConnection connection, string sql)
    {
        using var command = connection.Command("EXPLAIN QUERY PLAN " + sql, null, ("$target", "laptop2"), ("$limit", 20));
        using var reader = command.ExecuteReader();
        var lines = new List<string>();
        while (reader.Read())
        {
            lines.Add(reader.GetString(3));
        }

        return string.Join('\n', lines);
    }

    private static List<(string Target, string Status, long N)> Counters(string path) =>
        Rows(path, "SELECT target, status, n FROM queue_counts WHERE n <> 0 ORDER BY 1, 2;");

    private static List<(string Target, string Status, long N)> Counted(string path) => Rows(path, """
        SELECT target, status, COUNT(*) FROM (
            SELECT COALESCE(target_device, '') AS target, status FROM command_queue
            UNION ALL SELECT COALESCE(target_device, ''), 'dead' FROM dead_letter)
        GROUP BY 1, 2 ORDER BY 1, 2;
        """);

    private static List<(string, string, long)> Rows(string path, string sql)
    {
        using var connection = Open(path);
        using var command = connection.Command(sql, null);
        using var reader = command.ExecuteReader();
        var rows = new List<(string, string, long)>();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
        }

        return rows;
    }
}
