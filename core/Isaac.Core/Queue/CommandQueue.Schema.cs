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
        // Version 4: O(1) per operation at any depth (issue 10). The table is rebuilt without AUTOINCREMENT (its
        // sqlite_sequence row was one more page written per enqueue) and with only the indexes an operation uses;
        // queue_counts holds the number of rows per target and status (dead letters as status 'dead'), kept by
        // triggers in the same transaction as every change, so status, the soft limit, a target's backlog and the
        // claim's list of targets never count rows.
        //
        // Ids are never reused while anything could still refer to one (a dead letter, a "#12" the person saw, the
        // sync pipeline's bookkeeping): an insert takes 1 + the largest of the table's last id, the dead letters' last
        // id and queue_state's 'id_floor', which the delete trigger raises whenever the row with the largest id goes
        // (dropped, buried, coalesced or purged). That is what AUTOINCREMENT guaranteed, without a write per insert.
        """
        CREATE TABLE command_queue_v4 (
            id              INTEGER PRIMARY KEY,
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
            coalesce_key    TEXT,
            hub_id          TEXT
        );
        INSERT INTO command_queue_v4 SELECT id, queued_at, command_type, command_text, target_device, retry_count, last_retry_at, status, error_message,
            metadata, unique_key, parallel, next_attempt_at, claimed_at, completed_at, expires_at, coalesce_key, hub_id FROM command_queue ORDER BY id;
        INSERT INTO queue_state (key, value) SELECT 'id_floor', seq FROM sqlite_sequence WHERE name = 'command_queue' AND seq > 0;
        DROP TABLE command_queue;
        ALTER TABLE command_queue_v4 RENAME TO command_queue;
        CREATE INDEX ix_command_queue_waiting ON command_queue (target_device, id) WHERE status <> 'done';
        CREATE INDEX ix_command_queue_failed ON command_queue (id) WHERE status = 'failed';
        CREATE INDEX ix_command_queue_syncing ON command_queue (claimed_at) WHERE status = 'syncing';
        CREATE INDEX ix_command_queue_done ON command_queue (completed_at) WHERE status = 'done';
        CREATE INDEX ix_command_queue_coalesce ON command_queue (coalesce_key, target_device) WHERE coalesce_key IS NOT NULL;
        CREATE TABLE queue_counts (
            target TEXT    NOT NULL,
            status TEXT    NOT NULL,
            n      INTEGER NOT NULL,
            PRIMARY KEY (target, status)
        ) WITHOUT ROWID;
        INSERT INTO queue_counts (target, status, n) SELECT COALESCE(target_device, ''), status, COUNT(*) FROM command_queue GROUP BY 1, 2;
        INSERT INTO queue_counts (target, status, n) SELECT COALESCE(target_device, ''), 'dead', COUNT(*) FROM dead_letter GROUP BY 1;
        CREATE TRIGGER tr_command_queue_insert AFTER INSERT ON command_queue BEGIN
            INSERT INTO queue_counts (target, status, n) VALUES (COALESCE(NEW.target_device, ''), NEW.status, 1)
                ON CONFLICT (target, status) DO UPDATE SET n = n + 1;
        END;
        CREATE TRIGGER tr_command_queue_update AFTER UPDATE OF status, target_device ON command_queue
        WHEN OLD.status IS NOT NEW.status OR OLD.target_device IS NOT NEW.target_device BEGIN
            UPDATE queue_counts SET n = n - 1 WHERE target = COALESCE(OLD.target_device, '') AND status = OLD.status;
            INSERT INTO queue_counts (target, status, n) VALUES (COALESCE(NEW.target_device, ''), NEW.status, 1)
                ON CONFLICT (target, status) DO UPDATE SET n = n + 1;
        END;
        CREATE TRIGGER tr_command_queue_delete AFTER DELETE ON command_queue BEGIN
            UPDATE queue_counts SET n = n - 1 WHERE target = COALESCE(OLD.target_device, '') AND status = OLD.status;
        END;
        CREATE TRIGGER tr_command_queue_delete_last AFTER DELETE ON command_queue
        WHEN OLD.id > COALESCE((SELECT MAX(id) FROM command_queue), 0) BEGIN
            INSERT INTO queue_state (key, value) VALUES ('id_floor', OLD.id)
                ON CONFLICT (key) DO UPDATE SET value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER));
        END;
        CREATE TRIGGER tr_dead_letter_insert AFTER INSERT ON dead_letter BEGIN
            INSERT INTO queue_counts (target, status, n) VALUES (COALESCE(NEW.target_device, ''), 'dead', 1)
                ON CONFLICT (target, status) DO UPDATE SET n = n + 1;
        END;
        CREATE TRIGGER tr_dead_letter_delete AFTER DELETE ON dead_letter BEGIN
            UPDATE queue_counts SET n = n - 1 WHERE target = COALESCE(OLD.target_device, '') AND status = 'dead';
        END;
        """,
        // Version 5: an enqueue writes one WAL page fewer (issue 10: enqueue at persist-queue's cost), and the result
        // inbox's questions (what is still open, what arrived unshown, the newest first) are index seeks, not scans. unique_key loses its
        // UNIQUE index, which cost a page (at a random place: the keys are random) per enqueue and answered no query:
        // the key is the hub's to check (it stores each (sender, key) once and answers a repeat with the first record),
        // and nothing here looks a command up by it. SQLite cannot drop a column constraint, so the table is rebuilt (same
        // rows and ids, so queue_counts and the id floor stay right); dropping it drops its indexes and triggers, which
        // are created again unchanged.
        """
        CREATE TABLE command_queue_v5 (
            id              INTEGER PRIMARY KEY,
            queued_at       TEXT    NOT NULL,
            command_type    TEXT    NOT NULL CHECK (command_type IN ('meta', 'shell', 'device_route')),
            command_text    TEXT    NOT NULL,
            target_device   TEXT,
            retry_count     INTEGER NOT NULL DEFAULT 0,
            last_retry_at   TEXT,
            status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'syncing', 'done', 'failed')),
            error_message   TEXT,
            metadata        TEXT,
            unique_key      TEXT    NOT NULL,
            parallel        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT    NOT NULL,
            claimed_at      TEXT,
            completed_at    TEXT,
            expires_at      TEXT,
            coalesce_key    TEXT,
            hub_id          TEXT
        );
        INSERT INTO command_queue_v5 SELECT * FROM command_queue ORDER BY id;
        DROP TABLE command_queue;
        ALTER TABLE command_queue_v5 RENAME TO command_queue;
        CREATE INDEX ix_command_queue_waiting ON command_queue (target_device, id) WHERE status <> 'done';
        CREATE INDEX ix_command_queue_failed ON command_queue (id) WHERE status = 'failed';
        CREATE INDEX ix_command_queue_syncing ON command_queue (claimed_at) WHERE status = 'syncing';
        CREATE INDEX ix_command_queue_done ON command_queue (completed_at) WHERE status = 'done';
        CREATE INDEX ix_command_queue_coalesce ON command_queue (coalesce_key, target_device) WHERE coalesce_key IS NOT NULL;
        CREATE TRIGGER tr_command_queue_insert AFTER INSERT ON command_queue BEGIN
            INSERT INTO queue_counts (target, status, n) VALUES (COALESCE(NEW.target_device, ''), NEW.status, 1)
                ON CONFLICT (target, status) DO UPDATE SET n = n + 1;
        END;
        CREATE TRIGGER tr_command_queue_update AFTER UPDATE OF status, target_device ON command_queue
        WHEN OLD.status IS NOT NEW.status OR OLD.target_device IS NOT NEW.target_device BEGIN
            UPDATE queue_counts SET n = n - 1 WHERE target = COALESCE(OLD.target_device, '') AND status = OLD.status;
            INSERT INTO queue_counts (target, status, n) VALUES (COALESCE(NEW.target_device, ''), NEW.status, 1)
                ON CONFLICT (target, status) DO UPDATE SET n = n + 1;
        END;
        CREATE TRIGGER tr_command_queue_delete AFTER DELETE ON command_queue BEGIN
            UPDATE queue_counts SET n = n - 1 WHERE target = COALESCE(OLD.target_device, '') AND status = OLD.status;
        END;
        CREATE TRIGGER tr_command_queue_delete_last AFTER DELETE ON command_queue
        WHEN OLD.id > COALESCE((SELECT MAX(id) FROM command_queue), 0) BEGIN
            INSERT INTO queue_state (key, value) VALUES ('id_floor', OLD.id)
                ON CONFLICT (key) DO UPDATE SET value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER));
        END;
        DROP INDEX ix_routed_status;
        CREATE INDEX ix_routed_at ON routed (routed_at);
        CREATE INDEX ix_routed_open ON routed (routed_at) WHERE status NOT IN ('completed', 'failed', 'rejected', 'in_doubt');
        CREATE INDEX ix_routed_unshown ON routed (updated_at) WHERE shown = 0 AND status IN ('completed', 'failed', 'rejected', 'in_doubt');
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
        Derived = ["queue_counts"],
        TotalSql = "SELECT COALESCE(SUM(n), 0) FROM queue_counts;",
        Noun = "commands",

        // Opened by every isaac -c: checked only when suspect (docs/queue.md, "When the database is damaged").
        CheckOnOpen = false,
    };

    /// <summary>The schema version this build writes.</summary>
    public static int SchemaVersion => _migrations.Length;

    /// <summary>Set when the database was damaged and has been replaced: where the old file went and how many commands were kept.</summary>
    public string? RecoveryNotice => _store?.RecoveryNotice;
}
