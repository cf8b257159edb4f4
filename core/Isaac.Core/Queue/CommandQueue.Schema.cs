using Isaac.Core.Internal;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Isaac.Core.Queue;

// Opening the database: connection settings, schema upgrades, and recovery from a corrupt file.
internal sealed partial class CommandQueue
{
    private const int SqliteCorrupt = 11;
    private const int SqliteNotADatabase = 26;

    // One entry per schema version; entry N upgrades version N to N+1. Never edit a shipped entry.
    private static readonly string[] _migrations =
    [
        """
        CREATE TABLE command_queue (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            queued_at       TEXT    NOT NULL,
            command_type    TEXT    NOT NULL CHECK (command_type IN ('meta', 'shell', 'device_route')),
            command_text    TEXT    NOT NULL,
            target_device   TEXT,
            retry_count     INTEGER NOT NULL DEFAULT 0,
            last_retry_at   TEXT,
            status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'syncing', 'done', 'failed')),
            error_message   TEXT,
            metadata        TEXT,
            unique_key      TEXT    NOT NULL UNIQUE,
            parallel        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT    NOT NULL,
            claimed_at      TEXT,
            completed_at    TEXT,
            expires_at      TEXT,
            coalesce_key    TEXT
        );
        CREATE INDEX ix_command_queue_status ON command_queue (status);
        CREATE INDEX ix_command_queue_queued_at ON command_queue (queued_at);
        CREATE INDEX ix_command_queue_active ON command_queue (target_device, id) WHERE status <> 'done';
        CREATE INDEX ix_command_queue_coalesce ON command_queue (coalesce_key, target_device) WHERE coalesce_key IS NOT NULL;
        CREATE TABLE dead_letter (
            id            INTEGER PRIMARY KEY,
            queued_at     TEXT    NOT NULL,
            command_type  TEXT    NOT NULL,
            command_text  TEXT    NOT NULL,
            target_device TEXT,
            unique_key    TEXT    NOT NULL,
            parallel      INTEGER NOT NULL,
            metadata      TEXT,
            attempts      INTEGER NOT NULL,
            final_error   TEXT    NOT NULL,
            failed_at     TEXT    NOT NULL
        );
        CREATE TABLE queue_state (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """,
        """
        CREATE TABLE routed (
            id         TEXT    PRIMARY KEY,
            target     TEXT    NOT NULL,
            text       TEXT    NOT NULL,
            status     TEXT    NOT NULL,
            result     TEXT,
            error      TEXT,
            routed_at  TEXT    NOT NULL,
            updated_at TEXT    NOT NULL,
            shown      INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX ix_routed_status ON routed (status);
        """,
        """
        ALTER TABLE command_queue ADD COLUMN hub_id TEXT;
        CREATE TABLE shared_history (
            id   INTEGER PRIMARY KEY,
            text TEXT NOT NULL,
            at   TEXT NOT NULL
        );
        INSERT INTO shared_history (text, at) SELECT command_text, queued_at FROM command_queue WHERE command_type = 'shell' AND status <> 'done' ORDER BY id;
        DELETE FROM command_queue WHERE command_type = 'shell';
        """,
    ];

    /// <summary>The schema version this build writes.</summary>
    public static int SchemaVersion => _migrations.Length;

    /// <summary>Set when the database was corrupt and has been replaced: says where the old file went.</summary>
    public string? RecoveryNotice { get; private set; }

    private SqliteConnection OpenConnection()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_path) ?? ".");
        try
        {
            return OpenAndUpgrade();
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is SqliteCorrupt or SqliteNotADatabase)
        {
            var backup = MoveAside();
            RecoveryNotice = $"The queue database {_path} was corrupt ({ex.Message.TrimEnd('.')}); it was moved to {backup} and a new, empty queue was started.";
            _logger.LogError(ex, "Queue database {Path} is corrupt; moved to {Backup}", _path, backup);
            return OpenAndUpgrade();
        }
    }

    private SqliteConnection OpenAndUpgrade()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = _path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = (int)Math.Ceiling(_options.BusyTimeout.TotalSeconds),
        }.ToString());
        try
        {
            connection.Open();

            // WAL lets readers and one writer work at once across processes. synchronous=FULL fsyncs the WAL at
            // every commit, so an acknowledged enqueue survives power loss, not only a killed process.
            connection.Execute($"PRAGMA busy_timeout = {(int)_options.BusyTimeout.TotalMilliseconds}; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
            if (connection.Scalar<string>("PRAGMA quick_check;") is not "ok" and var check)
            {
                throw new SqliteException($"quick_check reported: {check}", SqliteCorrupt);
            }

            Upgrade(connection);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private void Upgrade(SqliteConnection connection)
    {
        foreach (var version in connection.Migrate(_migrations, version => QueueException.NewerSchema(_path, version, _migrations.Length)))
        {
            _logger.LogInformation("Queue database {Path} upgraded to schema version {Version}", _path, version);
        }
    }

    private string MoveAside()
    {
        var backup = _path + ".bak";
        if (File.Exists(backup))
        {
            backup = $"{_path}.{_time.GetUtcNow():yyyyMMdd'T'HHmmss}.bak";
        }

        File.Move(_path, backup);
        foreach (var suffix in new[] { "-wal", "-shm" })
        {
            if (File.Exists(_path + suffix))
            {
                File.Move(_path + suffix, backup + suffix, overwrite: true);
            }
        }

        return backup;
    }
}
