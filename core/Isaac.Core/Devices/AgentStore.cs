using System.Text.Json;
using Isaac.Core.Hub;
using Isaac.Core.Internal;
using Isaac.Plugins;
using Microsoft.Data.Sqlite;

namespace Isaac.Core.Devices;

/// <summary>One command the hub assigned to this device, as the agent remembers it.</summary>
internal sealed record Assignment(string Id, string Sender, string Text, string Status, CommandResponse? Result, bool Succeeded, bool Reported);

/// <summary>
/// The agent's own record of assignments (<c>&lt;ISAAC_HOME&gt;/agent.db</c>): an assignment is stored before
/// the hub hears "accepted", and a result is stored before it is reported, so a crash at any point neither
/// loses a command nor runs it twice.
/// </summary>
internal sealed class AgentStore : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Lock _gate = new();

    public AgentStore(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".");
        _connection = new SqliteConnection($"Data Source={path};Pooling=False;Default Timeout=10");
        _connection.Open();
        Execute("""
            PRAGMA busy_timeout = 10000;
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            CREATE TABLE IF NOT EXISTS assignments (
                id          TEXT    PRIMARY KEY,
                sender      TEXT    NOT NULL,
                text        TEXT    NOT NULL,
                status      TEXT    NOT NULL CHECK (status IN ('received', 'running', 'done')),
                result      TEXT,
                succeeded   INTEGER NOT NULL DEFAULT 0,
                reported    INTEGER NOT NULL DEFAULT 0,
                received_at TEXT    NOT NULL
            );
            """);
    }

    public Assignment? Get(string id) => Query("SELECT * FROM assignments WHERE id = $id;", ("$id", id)).FirstOrDefault();

    /// <summary>Assignments in one state, oldest first.</summary>
    public IReadOnlyList<Assignment> InState(string status) => Query("SELECT * FROM assignments WHERE status = $status ORDER BY received_at, rowid;", ("$status", status));

    public IReadOnlyList<Assignment> Unreported() => Query("SELECT * FROM assignments WHERE status = 'done' AND reported = 0 ORDER BY received_at, rowid;");

    /// <summary>Stores a new assignment; false when it was already known.</summary>
    public bool Receive(string id, string sender, string text) =>
        Execute("INSERT OR IGNORE INTO assignments (id, sender, text, status, received_at) VALUES ($id, $sender, $text, 'received', $now);",
            ("$id", id), ("$sender", sender), ("$text", text), ("$now", DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture))) > 0;

    public void MarkRunning(string id) => Execute("UPDATE assignments SET status = 'running' WHERE id = $id AND status = 'received';", ("$id", id));

    public void Complete(string id, CommandResponse result, bool succeeded) =>
        Execute("UPDATE assignments SET status = 'done', result = $result, succeeded = $ok WHERE id = $id;",
            ("$id", id), ("$result", JsonSerializer.Serialize(result, HubJson.Default.CommandResponse)), ("$ok", succeeded));

    public void MarkReported(string id) => Execute("UPDATE assignments SET reported = 1 WHERE id = $id;", ("$id", id));

    public void Dispose() => _connection.Dispose();

    private List<Assignment> Query(string sql, params (string Name, object? Value)[] parameters)
    {
        lock (_gate)
        {
            using var command = _connection.Command(sql, null, parameters);
            using var reader = command.ExecuteReader();
            var rows = new List<Assignment>();
            while (reader.Read())
            {
                var result = reader["result"] as string;
                rows.Add(new Assignment((string)reader["id"], (string)reader["sender"], (string)reader["text"], (string)reader["status"],
                    result is null ? null : JsonSerializer.Deserialize(result, HubJson.Default.CommandResponse), (long)reader["succeeded"] != 0, (long)reader["reported"] != 0));
            }

            return rows;
        }
    }

    private int Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        lock (_gate)
        {
            return _connection.Execute(sql, null, parameters);
        }
    }
}
