namespace Isaac.Core.Queue;

// The schema. Opening, upgrading and rescuing the file is SqliteStore's job, the same for every store.
internal sealed partial class CommandQueue
{
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

    /// <summary>How queue.db is recognised, upgraded and salvaged (see <see cref="SqliteStore"/>).</summary>
    internal static StoreSchema Schema { get; } = new()
    {
        What = "queue",
        ApplicationId = StoreSchema.QueueId,
        Migrations = _migrations,
        Tables = ["command_queue", "dead_letter", "queue_state", "routed", "shared_history"],
        Counted = ["command_queue", "dead_letter"],
        Noun = "commands",
    };

    /// <summary>The schema version this build writes.</summary>
    public static int SchemaVersion => _migrations.Length;

    /// <summary>Set when the database was damaged and has been replaced: where the old file went and how many commands were kept.</summary>
    public string? RecoveryNotice => _store?.RecoveryNotice;
}
