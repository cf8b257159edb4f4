using System.Globalization;
using System.Text.Json;
using Isaac.Core.Internal;
using Isaac.Core.Queue;
using Isaac.Core.Wire;
using Isaac.Plugins;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Isaac.Core.Devices;

/// <summary>One command the hub assigned to this device, as the agent remembers it.</summary>
internal sealed record Assignment
{
    public required string Id { get; init; }
    public required string Sender { get; init; }
    public required string Text { get; init; }

    /// <summary><see cref="AgentStore.Received"/>, <see cref="AgentStore.Running"/> or <see cref="AgentStore.Done"/>.</summary>
    public required string Status { get; init; }

    /// <summary>The hub's sequence number; null from a hub that sends none (then arrival order counts).</summary>
    public long? Seq { get; init; }

    public bool Parallel { get; init; }

    /// <summary>Arrival order here (the row id): breaks ties, and orders commands from a hub without sequence numbers.</summary>
    public long Arrival { get; init; }

    /// <summary>Once done: the message type that reports it (completed, failed or in_doubt).</summary>
    public string? Outcome { get; init; }

    public CommandResponse? Result { get; init; }
    public string? Reason { get; init; }
    public bool Reported { get; init; }
}

/// <summary>
/// Where a task is (<see cref="TaskStates"/>): <see cref="Attempts"/> wake runs started, <see cref="WakeRunning"/> when the
/// last one's end was never recorded (it may have woken the task), <see cref="DueAt"/> the next wake or the deadline of the
/// state, <see cref="Folder"/> its results folder.
/// </summary>
internal sealed record TaskRow(string Id, string State, int Attempts, bool WakeRunning, DateTimeOffset? DueAt, string Folder, DateTimeOffset ChangedAt);

/// <summary>The end of one run, as stored: <see cref="Outcome"/> is the report's message type (completed, failed, in_doubt).</summary>
internal sealed record RunResult(string Id, string Outcome, CommandResponse Result, string? Reason);

/// <summary>
/// The agent's own record of assignments (<c>&lt;ISAAC_HOME&gt;/agent.db</c>): an assignment is stored before
/// the hub hears "accepted", "running" is stored before a handler starts, and a result is stored before it is
/// reported, so a crash at any point neither loses a command nor runs it twice without saying so.
/// </summary>
/// <remarks>Only the process holding <c>agent.lock</c> opens it, so one connection serves the whole file.</remarks>
internal sealed class AgentStore : IDisposable
{
    public const string Received = "received";
    public const string Running = "running";
    public const string Done = "done";

    // One entry per schema version; entry N upgrades version N to N+1. Never edit a shipped entry.
    // Version 1 is the table as it was before versioning ("IF NOT EXISTS" adopts files from that time).
    private static readonly string[] _migrations =
    [
        """
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
        """,
        """
        ALTER TABLE assignments ADD COLUMN seq INTEGER;
        ALTER TABLE assignments ADD COLUMN parallel INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE assignments ADD COLUMN outcome TEXT;
        ALTER TABLE assignments ADD COLUMN reason TEXT;
        UPDATE assignments SET outcome = CASE succeeded WHEN 0 THEN 'failed' ELSE 'completed' END WHERE status = 'done';
        CREATE INDEX ix_assignments_open ON assignments (status, seq) WHERE status <> 'done' OR reported = 0;
        """,
        """
        CREATE TABLE tasks (
            id           TEXT    PRIMARY KEY,
            state        TEXT    NOT NULL CHECK (state IN ('waking', 'waking_confirmation', 'working')),
            attempts     INTEGER NOT NULL DEFAULT 0,
            wake_running INTEGER NOT NULL DEFAULT 0,
            due_at       TEXT,
            folder       TEXT    NOT NULL,
            changed_at   TEXT    NOT NULL
        );
        """,
    ];

    private const string Order = "ORDER BY seq IS NULL, seq, rowid";

    private readonly SqliteStore _store;
    private readonly Lock _gate = new();

    /// <summary>Opens agent.db, creating, upgrading or (when it is damaged) rescuing it; see <see cref="SqliteStore"/>.</summary>
    /// <exception cref="StoreException">The file cannot be used (read-only, not Isaac's, from a newer Isaac…).</exception>
    public AgentStore(string path, ILogger? logger = null) =>
        _store = SqliteStore.Open(path, Schema, TimeSpan.FromSeconds(10), logger: logger, groupCommit: true);

    /// <summary>How agent.db is recognised, upgraded and salvaged.</summary>
    internal static StoreSchema Schema { get; } = new()
    {
        What = "agent",
        ApplicationId = StoreSchema.AgentId,
        Migrations = _migrations,
        Tables = ["assignments", "tasks"],
        Counted = ["assignments"],
        Noun = "assignments",
    };

    /// <summary>The schema version this build writes.</summary>
    public static int SchemaVersion => _migrations.Length;

    /// <summary>Set when agent.db was damaged and has been replaced: where the old file went and how many assignments were kept.</summary>
    public string? RecoveryNotice => _store.RecoveryNotice;

    public Assignment? Get(string id) => Query("SELECT rowid, * FROM assignments WHERE id = $id;", ("$id", id)).FirstOrDefault();

    /// <summary>Assignments in one state, in the order they must run.</summary>
    public IReadOnlyList<Assignment> InState(string status) => Query($"SELECT rowid, * FROM assignments WHERE status = $status {Order};", ("$status", status));

    /// <summary>Ids of assignments not yet finished (received or running).</summary>
    public IReadOnlyList<string> Unfinished() => [.. Query($"SELECT rowid, * FROM assignments WHERE status <> 'done' {Order};").Select(a => a.Id)];

    /// <summary>Finished assignments whose result the hub has not acknowledged.</summary>
    public IReadOnlyList<Assignment> Unreported() => Query($"SELECT rowid, * FROM assignments WHERE status = 'done' AND reported = 0 {Order};");

    /// <summary>Stores one new assignment; see <see cref="Receive(IReadOnlyList{AgentMessage})"/>.</summary>
    public Assignment? Receive(string id, string sender, string text, long? seq, bool parallel) =>
        Receive([new AgentMessage { Type = "assign", Id = id, Sender = sender, Text = text, Seq = seq, Parallel = parallel }])[0];

    /// <summary>
    /// Stores new assignments in ONE transaction (one fsync for a whole batch from the hub): for each, the new row, or
    /// null when the id was already known (then nothing changed, and the caller must not run it again). Without this
    /// write an assignment the hub heard "accepted" for could be lost in a crash; it is the one write per batch.
    /// </summary>
    public IReadOnlyList<Assignment?> Receive(IReadOnlyList<AgentMessage> assigns)
    {
        lock (_gate)
        {
            return _store.Write((connection, transaction) =>
            {
                using var command = connection.Command(
                    "INSERT OR IGNORE INTO assignments (id, sender, text, status, seq, parallel, received_at) VALUES ($id, $sender, $text, 'received', $seq, $parallel, $now) RETURNING rowid;",
                    transaction, ("$id", null), ("$sender", null), ("$text", null), ("$seq", null), ("$parallel", null),
                    ("$now", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture)));
                var stored = new List<Assignment?>(assigns.Count);
                foreach (var assign in assigns)
                {
                    var (id, sender, text) = (assign.Id ?? "", assign.Sender ?? "", assign.Text ?? "");
                    command.Parameters["$id"].Value = id;
                    command.Parameters["$sender"].Value = sender;
                    command.Parameters["$text"].Value = text;
                    command.Parameters["$seq"].Value = (object?)assign.Seq ?? DBNull.Value;
                    command.Parameters["$parallel"].Value = assign.Parallel ?? false;
                    stored.Add(command.ExecuteScalar() is long rowid
                        ? new Assignment { Id = id, Sender = sender, Text = text, Status = Received, Seq = assign.Seq, Parallel = assign.Parallel ?? false, Arrival = rowid }
                        : null);
                }

                return stored;
            });
        }
    }

    /// <summary>Durably marks a received assignment running; false when it was not waiting to run (see <see cref="Advance"/>).</summary>
    public bool MarkRunning(string id) => Advance(null, [id]).Count > 0;

    /// <summary>Puts an interrupted assignment back in line (its manifest says running it again is safe).</summary>
    public void Requeue(string id) => Execute("UPDATE assignments SET status = 'received' WHERE id = $id AND status = 'running';", ("$id", id));

    /// <summary>Stores one final result (see <see cref="Advance"/>); <paramref name="outcome"/> is the report's message type.</summary>
    public void Finish(string id, string outcome, CommandResponse result, string? reason) => Advance(new RunResult(id, outcome, result, reason), []);

    /// <summary>
    /// Stores the result of what just ended and marks what starts now running, in ONE transaction: for sequential
    /// commands the result of one and the "running" mark of the next share one fsync. Returns the ids that were
    /// waiting to run and now run (the others must not be started). Without the result write, a crash before the hub
    /// acknowledges it would lose it (the command would be reported in doubt); without the running mark before its
    /// handler starts, a crash while it runs would look like "never started" and it would run twice.
    /// </summary>
    public IReadOnlySet<string> Advance(RunResult? finished, IReadOnlyList<string> starting)
    {
        lock (_gate)
        {
            return _store.Write((connection, transaction) =>
            {
                if (finished is { } done)
                {
                    connection.Execute(
                        "UPDATE assignments SET status = 'done', outcome = $outcome, result = $result, succeeded = $ok, reason = $reason, reported = 0 WHERE id = $id AND status <> 'done';",
                        transaction, ("$id", done.Id), ("$outcome", done.Outcome), ("$result", JsonSerializer.Serialize(done.Result, HubJson.Default.CommandResponse)),
                        ("$ok", done.Outcome == "completed"), ("$reason", done.Reason));
                }

                var started = new HashSet<string>(StringComparer.Ordinal);
                using var command = connection.Command("UPDATE assignments SET status = 'running' WHERE id = $id AND status = 'received';", transaction, ("$id", null));
                foreach (var id in starting)
                {
                    command.Parameters["$id"].Value = id;
                    if (command.ExecuteNonQuery() > 0)
                    {
                        started.Add(id);
                    }
                }

                return started;
            });
        }
    }

    /// <summary>A task's lifecycle row (docs/tasks.md), or null when the assignment is no task or its result was acknowledged.</summary>
    public TaskRow? GetTask(string id) => Tasks("WHERE id = $id", ("$id", id)).FirstOrDefault();

    /// <summary>The tasks among <paramref name="ids"/>, in one read.</summary>
    public IReadOnlyList<TaskRow> TasksAmong(IReadOnlyList<string> ids) =>
        Tasks("WHERE id IN (SELECT value FROM json_each($ids))", ("$ids", JsonSerializer.Serialize(ids, HubJson.Default.IReadOnlyListString)));

    /// <summary>Every task whose result the hub has not acknowledged: what an agent resumes at start and announces on each connection.</summary>
    public IReadOnlyList<TaskRow> OpenTasks() => Tasks("ORDER BY rowid");

    private List<TaskRow> Tasks(string where, params (string Name, object? Value)[] parameters)
    {
        lock (_gate)
        {
            return _store.Run(connection =>
            {
                using var command = connection.Command($"SELECT id, state, attempts, wake_running, due_at, folder, changed_at FROM tasks {where};", null, parameters);
                using var reader = command.ExecuteReader();
                var rows = new List<TaskRow>();
                while (reader.Read())
                {
                    rows.Add(new TaskRow(reader.GetString(0), reader.GetString(1), (int)reader.GetInt64(2), reader.GetInt64(3) != 0,
                        Iso.ParseOptional(reader.GetValue(4)), reader.GetString(5), Iso.Parse(reader.GetString(6))));
                }

                return rows;
            });
        }
    }

    /// <summary>Stores a task's new state BEFORE it is acted on or reported, so a restart resumes it where it was.</summary>
    public void SaveTask(TaskRow task)
    {
        lock (_gate)
        {
            _store.Write((connection, transaction) => connection.Execute(
                """
                INSERT INTO tasks (id, state, attempts, wake_running, due_at, folder, changed_at) VALUES ($id, $state, $attempts, $wake, $due, $folder, $at)
                ON CONFLICT (id) DO UPDATE SET state = excluded.state, attempts = excluded.attempts, wake_running = excluded.wake_running,
                    due_at = excluded.due_at, changed_at = excluded.changed_at;
                """,
                transaction, ("$id", task.Id), ("$state", task.State), ("$attempts", task.Attempts), ("$wake", task.WakeRunning),
                ("$due", task.DueAt is { } due ? Iso.From(due) : null), ("$folder", task.Folder), ("$at", Iso.From(task.ChangedAt))));
        }
    }

    public void MarkReported(string id) => MarkReported([id]);

    /// <summary>
    /// The hub has stored these results, in ONE transaction. Without it every result would be sent again on every
    /// connection for ever (harmless to the hub, which answers repeats, but unbounded).
    /// </summary>
    /// <remarks>A finished task's row goes in the same transaction: its files may be removed once this returns.</remarks>
    public void MarkReported(IReadOnlyList<string> ids)
    {
        lock (_gate)
        {
            _store.Write((connection, transaction) =>
            {
                using var command = connection.Command("UPDATE assignments SET reported = 1 WHERE id = $id AND status = 'done';", transaction, ("$id", null));
                using var task = connection.Command(
                    "DELETE FROM tasks WHERE id = $id AND EXISTS (SELECT 1 FROM assignments a WHERE a.id = $id AND a.status = 'done');", transaction, ("$id", null));
                foreach (var id in ids)
                {
                    command.Parameters["$id"].Value = id;
                    command.ExecuteNonQuery();
                    task.Parameters["$id"].Value = id;
                    task.ExecuteNonQuery();
                }

                return 0;
            });
        }
    }

    public void Dispose() => _store.Dispose();

    private List<Assignment> Query(string sql, params (string Name, object? Value)[] parameters)
    {
        lock (_gate)
        {
            return _store.Run(connection => Read(connection, sql, parameters));
        }
    }

    private static List<Assignment> Read(SqliteConnection connection, string sql, (string Name, object? Value)[] parameters)
    {
        using var command = connection.Command(sql, null, parameters);
        using var reader = command.ExecuteReader();
        var rows = new List<Assignment>();
        while (reader.Read())
        {
            var result = reader["result"] as string;
            rows.Add(new Assignment
            {
                Id = (string)reader["id"],
                Sender = (string)reader["sender"],
                Text = (string)reader["text"],
                Status = (string)reader["status"],
                Seq = reader["seq"] as long?,
                Parallel = (long)reader["parallel"] != 0,
                Arrival = (long)reader["rowid"],
                Outcome = reader["outcome"] as string,
                Result = result is null ? null : JsonSerializer.Deserialize(result, HubJson.Default.CommandResponse),
                Reason = reader["reason"] as string,
                Reported = (long)reader["reported"] != 0,
            });
        }

        return rows;
    }

    private int Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        lock (_gate)
        {
            return _store.Write((connection, transaction) => connection.Execute(sql, transaction, parameters));
        }
    }
}
