using Isaac.Core.Devices;
using Isaac.Core.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Isaac.Core.Tests.Devices;

public sealed class AgentStoreTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

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
