using Isaac.Core.Devices;
using Isaac.Core.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Isaac.Core.Tests.Devices;

public sealed class AgentStoreTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_batch_is_received_and_acknowledged_in_one_transaction_each_and_a_known_id_in_it_is_not_stored_again()
    {
        // Arrange
        using var store = new AgentStore(_dir.Combine("agent.db"));
        var wal = _dir.Combine("agent.db-wal");
        Assert.NotNull(store.Receive("c0", "desktop", "/old", seq: 1, parallel: false));
        var assigns = Enumerable.Range(0, 40).Select(i => new Isaac.Core.Wire.AgentMessage { Type = "assign", Id = $"c{i}", Sender = "desktop", Text = $"/job {i}", Seq = i + 1 }).ToList();

        // Act
        var before = WalCommits.Count(wal);
        var stored = store.Receive(assigns);
        var afterReceive = WalCommits.Count(wal);
        foreach (var id in assigns.Select(a => a.Id!))
        {
            store.MarkRunning(id);
            store.Finish(id, "completed", Isaac.Plugins.CommandResponse.Ok("ran"), null);
        }

        var afterRuns = WalCommits.Count(wal);
        store.MarkReported([.. assigns.Select(a => a.Id!)]);
        var afterAcks = WalCommits.Count(wal);

        // Assert: one write for the batch, two per command run (running before the handler, the result after), one for the acks
        Assert.Equal((1, 2 * 40, 1), (afterReceive - before, afterRuns - afterReceive, afterAcks - afterRuns));
        Assert.Null(stored[0]);
        Assert.All(stored.Skip(1), s => Assert.NotNull(s));
        Assert.Equal("/old", store.Get("c0")?.Text);
        Assert.Empty(store.Unreported());
    }

    [Fact]
    public void Receiving_the_same_id_twice_stores_it_once_and_says_so()
    {
        // Arrange
        using var store = new AgentStore(_dir.Combine("agent.db"));

        // Act
        var first = store.Receive("c1", "desktop", "/count", seq: 7, parallel: true);
        var second = store.Receive("c1", "desktop", "/other", seq: 8, parallel: false);

        // Assert
        Assert.NotNull(first);
        Assert.Null(second);
        var stored = store.Get("c1");
        Assert.Equal("/count", stored?.Text);
        Assert.Equal(7, stored?.Seq);
        Assert.True(stored?.Parallel);
    }

    [Fact]
    public void An_agent_db_from_before_versioning_is_upgraded_in_place_and_keeps_its_rows()
    {
        // Arrange: the table exactly as the unversioned agent created it.
        var path = _dir.Combine("agent.db");
        using (var old = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            old.Open();
            using var command = old.CreateCommand();
            command.CommandText = """
                CREATE TABLE assignments (
                    id TEXT PRIMARY KEY, sender TEXT NOT NULL, text TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('received', 'running', 'done')),
                    result TEXT, succeeded INTEGER NOT NULL DEFAULT 0, reported INTEGER NOT NULL DEFAULT 0, received_at TEXT NOT NULL);
                INSERT INTO assignments (id, sender, text, status, received_at) VALUES ('old1', 'desktop', '/count', 'received', '2026-01-01T00:00:00Z');
                INSERT INTO assignments (id, sender, text, status, succeeded, received_at) VALUES ('old2', 'desktop', '/count', 'done', 1, '2026-01-01T00:00:01Z');
                """;
            command.ExecuteNonQuery();
        }

        // Act
        using var store = new AgentStore(path);

        // Assert
        Assert.Equal(["old1"], store.InState(AgentStore.Received).Select(a => a.Id));
        Assert.Equal("completed", store.Unreported().Single().Outcome);
        Assert.NotNull(store.Receive("new1", "desktop", "/count", seq: 1, parallel: false));
        using var check = new SqliteConnection($"Data Source={path};Pooling=False");
        check.Open();
        using var version = check.CreateCommand();
        version.CommandText = "PRAGMA user_version;";
        Assert.Equal((long)AgentStore.SchemaVersion, version.ExecuteScalar());
    }
}
