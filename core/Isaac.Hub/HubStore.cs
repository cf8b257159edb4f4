using System.Text.Json;
using Isaac.Core;
using Isaac.Core.Devices;
using Isaac.Core.Internal;
using Isaac.Core.Wire;
using Isaac.Hub.Internal;
using Isaac.Plugins;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Isaac.Hub;

/// <summary>
/// The hub's embedded SQLite store (the default engine): devices (with hashed tokens), routed commands, shared history.
/// One hub process owns the file, so presence is kept in memory and no hint ever comes from another hub.
/// </summary>
public sealed class HubStore : IHubStore
{
    // One entry per schema version; entry N upgrades version N to N+1. Never edit a shipped entry. Version 1 is the
    // schema as it was before versioning ("IF NOT EXISTS" adopts files from that time; AdoptUnversioned finishes them).
    private static readonly string[] _migrations =
    [
        """
        CREATE TABLE IF NOT EXISTS devices (
            name       TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            last_seen  TEXT
        );
        CREATE TABLE IF NOT EXISTS commands (
            id         TEXT PRIMARY KEY,
            sender     TEXT NOT NULL,
            target     TEXT NOT NULL,
            text       TEXT NOT NULL,
            unique_key TEXT NOT NULL,
            status     TEXT NOT NULL,
            result     TEXT,
            error      TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            seq        INTEGER,
            parallel   INTEGER NOT NULL DEFAULT 0,
            UNIQUE (sender, unique_key)
        );
        CREATE INDEX IF NOT EXISTS ix_commands_target_status ON commands (target, status);
        CREATE TABLE IF NOT EXISTS history (
            id     INTEGER PRIMARY KEY AUTOINCREMENT,
            device TEXT NOT NULL,
            text   TEXT NOT NULL,
            at     TEXT NOT NULL
        );
        """,
        """
        CREATE INDEX IF NOT EXISTS ix_commands_waiting ON commands (target, seq) WHERE status IN ('accepted', 'assigned');
        """,
        "ALTER TABLE commands ADD COLUMN phase TEXT;",
    ];

    private readonly SqliteStore _store;
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<string, string> _leases = new(StringComparer.Ordinal); // device → node, under _gate
    private SqliteTransaction? _transaction;

    /// <summary>
    /// Opens <c>hub.db</c> in <paramref name="directory"/>, creating, upgrading or (when it is damaged) rescuing it;
    /// see <see cref="SqliteStore"/> and <see cref="RecoveryNotice"/>.
    /// </summary>
    /// <exception cref="StoreException">The file cannot be used (read-only, not Isaac's, from a newer Isaac…); the message is one line for the person.</exception>
    public HubStore(string directory, TimeProvider? time = null, ILogger? logger = null)
    {
        _time = time ?? TimeProvider.System;
        _store = SqliteStore.Open(Path.Combine(directory, "hub.db"), Schema, TimeSpan.FromSeconds(10), _time, logger);
        try
        {
            Locked(AdoptUnversioned);
        }
        catch
        {
            _store.Dispose();
            throw;
        }
    }

    /// <summary>How hub.db is recognised, upgraded and salvaged.</summary>
    internal static StoreSchema Schema { get; } = new()
    {
        What = "hub",
        ApplicationId = StoreSchema.HubId,
        Migrations = _migrations,
        Tables = ["devices", "commands", "history"],
        Counted = ["commands"],
        Noun = "routed commands",
    };

    /// <summary>Set when hub.db was damaged and has been replaced: where the old file went and how many routed commands were kept.</summary>
    public string? RecoveryNotice => _store.RecoveryNotice;

    // Stores made before sequence numbers get them in the order they were stored (rowid), before the index
    // that keeps them unique. An explicit column, because VACUUM may renumber the rowids of a table like this.
    private int AdoptUnversioned()
    {
        var columns = new HashSet<string>(StringComparer.Ordinal);
        using (var command = Command("PRAGMA table_info(commands);"))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                columns.Add(reader.GetString(1));
            }
        }

        if (!columns.Contains("seq"))
        {
            Execute("ALTER TABLE commands ADD COLUMN seq INTEGER;");
        }

        if (!columns.Contains("parallel"))
        {
            Execute("ALTER TABLE commands ADD COLUMN parallel INTEGER NOT NULL DEFAULT 0;");
        }

        Execute("UPDATE commands SET seq = rowid WHERE seq IS NULL;");
        Execute("CREATE UNIQUE INDEX IF NOT EXISTS ix_commands_seq ON commands (seq);");
        Execute("CREATE INDEX IF NOT EXISTS ix_commands_target_seq ON commands (target, seq);");
        return 0;
    }

    /// <summary>
    /// Registers a device under its canonical (lower-case) name and returns its token; only the token's hash is stored.
    /// A name that breaks the rules of <see cref="DeviceName"/> is refused with <see cref="ArgumentException"/>.
    /// </summary>
    public string AddDevice(string name, bool replace)
    {
        if (!DeviceName.TryNormalize(name, out var device, out var problem))
        {
            throw new ArgumentException(problem, nameof(name));
        }

        var token = HubRows.NewToken();
        lock (_gate)
        {
            // Case-insensitive, also against a name stored before names were lower-cased: that row takes the canonical name.
            var exists = Scalar("SELECT COUNT(*) FROM devices WHERE lower(name) = $name;", ("$name", device)) is long n && n > 0;
            if (exists && !replace)
            {
                throw new InvalidOperationException($"Device '{device}' is already registered. Use --replace to issue a new token (the old one stops working).");
            }

            if (Execute("UPDATE devices SET name = $name, token_hash = $hash WHERE lower(name) = $name;", ("$name", device), ("$hash", Hash(token))) == 0)
            {
                Execute("INSERT INTO devices (name, token_hash, created_at) VALUES ($name, $hash, $now);", ("$name", device), ("$hash", Hash(token)), ("$now", Now()));
            }
        }

        return token;
    }

    /// <summary>The device a bearer token belongs to, or null.</summary>
    public string? Authenticate(string token) =>
        Locked(() => Scalar("SELECT name FROM devices WHERE token_hash = $hash;", ("$hash", Hash(token))) as string);

    public bool DeviceExists(string name) =>
        Locked(() => Scalar("SELECT COUNT(*) FROM devices WHERE name = $name;", ("$name", name)) is long n && n > 0);

    /// <summary>Every registered device with its last-seen time and how much of its work is waiting or in flight; <see cref="DeviceRecord.Online"/> is left to the caller.</summary>
    public IReadOnlyList<DeviceRecord> Devices()
    {
        return Locked(() =>
        {
            var devices = new List<DeviceRecord>();
            using var command = Command(HubRows.DevicesSql);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                devices.Add(HubRows.Device(reader));
            }

            return devices;
        });
    }

    public void Touch(string device) =>
        Locked(() => Execute("UPDATE devices SET last_seen = $now WHERE name = $name;", ("$name", device), ("$now", Now())));

    /// <summary>Stores a new routed command, or returns the first one stored with the same sender and unique key.</summary>
    public (CommandRecord Record, bool Repeated) Create(string sender, RouteBody body)
    {
        return Locked(() =>
        {
            if (Find("SELECT * FROM commands WHERE sender = $sender AND unique_key = $key;", ("$sender", sender), ("$key", body.UniqueKey)) is { } existing)
            {
                return (existing, true);
            }

            // One connection, every write under _gate: MAX + 1 is race-free and gives one order across all devices.
            var id = Guid.NewGuid().ToString("N");
            Execute("""
                INSERT INTO commands (id, sender, target, text, unique_key, status, created_at, updated_at, seq, parallel)
                VALUES ($id, $sender, $target, $text, $key, 'accepted', $now, $now, (SELECT COALESCE(MAX(seq), 0) + 1 FROM commands), $parallel);
                """, ("$id", id), ("$sender", sender), ("$target", body.Target), ("$text", body.Text), ("$key", body.UniqueKey), ("$now", Now()),
                ("$parallel", body.Parallel ? 1 : 0));
            return (Find("SELECT * FROM commands WHERE id = $id;", ("$id", id)) ?? throw new InvalidOperationException($"Command '{id}' vanished right after it was stored."), false);
        });
    }

    /// <summary><see cref="Create"/> for many commands in one transaction (one fsync for the whole batch).</summary>
    public IReadOnlyList<(CommandRecord Record, bool Repeated)> CreateMany(string sender, IReadOnlyList<RouteBody> bodies) =>
        InTransaction<IReadOnlyList<(CommandRecord Record, bool Repeated)>>(() => [.. bodies.Select(body => Create(sender, body))]);

    public CommandRecord? Get(string id) =>
        Locked(() => Find("SELECT * FROM commands WHERE id = $id;", ("$id", id)));

    /// <summary>The records among <paramref name="ids"/> that exist, in one read.</summary>
    public IReadOnlyList<CommandRecord> GetMany(IReadOnlyList<string> ids) =>
        Locked(() => FindAll("SELECT * FROM commands WHERE id IN (SELECT value FROM json_each($ids));",
            ("$ids", JsonSerializer.Serialize(ids.ToArray(), HubJson.Default.StringArray))));

    /// <summary>
    /// The device's next commands not yet taken by it (accepted or assigned), after sequence number
    /// <paramref name="afterSeq"/>, oldest first, at most <paramref name="limit"/>. Read through the partial index
    /// <c>ix_commands_waiting</c>, so the cost does not grow with the backlog behind them or the history before them.
    /// </summary>
    public IReadOnlyList<CommandRecord> NextWaiting(string target, long afterSeq, int limit) =>
        Locked(() => FindAll("""
            SELECT * FROM commands INDEXED BY ix_commands_waiting
            WHERE target = $target AND status IN ('accepted', 'assigned') AND seq > $after ORDER BY seq LIMIT $limit;
            """, ("$target", target), ("$after", afterSeq), ("$limit", limit)));

    /// <summary>Ids of the commands some agent of the device stored and has not finished (device_accepted or running).</summary>
    public IReadOnlyList<string> Working(string target)
    {
        return Locked<IReadOnlyList<string>>(() =>
        {
            var ids = new List<string>();
            using var command = Command("SELECT id FROM commands WHERE target = $target AND status IN ('device_accepted', 'running') ORDER BY seq;", ("$target", target));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                ids.Add(reader.GetString(0));
            }

            return ids;
        });
    }

    /// <summary>
    /// Marks commands handed to the device's agent as assigned, in one transaction. Without it a hub restarted
    /// meanwhile still resends them (assigned and accepted both wait), but the sender would not see that its command
    /// reached the device's connection; it costs one write per assignment batch, not per command.
    /// </summary>
    public void Assign(string target, IReadOnlyList<string> ids) =>
        InTransaction(() =>
        {
            foreach (var id in ids)
            {
                Advance(id, target, RoutedStatus.Assigned);
            }

            return 0;
        });

    /// <summary>
    /// Applies what an agent reported (accepted, rejected, running, completed, failed, in_doubt) in ONE transaction,
    /// in order, so a report is stored whole or not at all. A rejection whose reason starts with "busy" puts the
    /// command back to waiting. Returns the ids whose record changed.
    /// </summary>
    public IReadOnlyList<string> Apply(string target, IReadOnlyList<AgentMessage> reports) =>
        InTransaction<IReadOnlyList<string>>(() => HubRows.Apply(reports, id => Requeue(id, target), (id, status, result, error, phase) => Advance(id, target, status, result, error, phase)));

    /// <summary>A rejection that means "not now": the command waits at the hub for a free slot.</summary>
    internal static bool IsBusy(string reason) => reason.StartsWith("busy", StringComparison.Ordinal);

    /// <summary>Puts a command the device turned away as busy back to waiting at the hub. Returns false when it had moved on.</summary>
    private bool Requeue(string id, string target) =>
        Execute(HubRows.RequeueSql('$'), ("$id", id), ("$target", target), ("$now", Now())) > 0;

    /// <summary>
    /// Moves a command on; never back (a late "accepted" does not undo "running"), and a final state never changes
    /// again. Returns false when nothing changed.
    /// </summary>
    internal bool Advance(string id, string target, string status, CommandResponse? result = null, string? error = null, string? phase = null) =>
        Locked(() => Execute(HubRows.AdvanceSql('$'), ("$id", id), ("$target", target), ("$status", status),
            ("$result", HubRows.ResultJson(result)), ("$error", error), ("$phase", phase), ("$now", Now())) > 0);

    /// <summary>
    /// A result as agents may send it (a script's minimal JSON, explicit nulls) with every collection and string
    /// filled in, so no reader of the stored record meets a null the type says cannot be there.
    /// </summary>
    internal static CommandResponse Normalize(CommandResponse result)
    {
        var defaults = new CommandResponse();
        return result with
        {
            // A minimal result without protocol_version was stored as 0; the contract says it means 1.
            ProtocolVersion = result.ProtocolVersion > 0 ? result.ProtocolVersion : defaults.ProtocolVersion,
            Status = (string?)result.Status ?? defaults.Status,
            Stdout = (string?)result.Stdout ?? "",
            Stderr = (string?)result.Stderr ?? "",
            Kind = (string?)result.Kind ?? defaults.Kind,
            Meta = (IReadOnlyDictionary<string, string>?)result.Meta is { } meta
                ? meta.Where(pair => pair.Key is not null).ToDictionary(pair => pair.Key, pair => (string?)pair.Value ?? "", StringComparer.Ordinal)
                : new Dictionary<string, string>(StringComparer.Ordinal),
            Table = result.Table is { } table
                ? new ResponseTable
                {
                    Columns = ((IReadOnlyList<string?>?)table.Columns ?? []).Select(c => c ?? "").ToList(),
                    Rows = ((IReadOnlyList<IReadOnlyList<string?>?>?)table.Rows ?? [])
                        .Select(row => (IReadOnlyList<string>)(row ?? []).Select(c => c ?? "").ToList()).ToList(),
                }
                : null,
        };
    }

    public void AppendHistory(string device, string text) =>
        Locked(() => Execute("INSERT INTO history (device, text, at) VALUES ($device, $text, $now);", ("$device", device), ("$text", text), ("$now", Now())));

    public IReadOnlyList<HistoryEntry> History(int limit)
    {
        return Locked(() =>
        {
            var entries = new List<HistoryEntry>();
            using var command = Command("SELECT device, text, at FROM (SELECT * FROM history ORDER BY id DESC LIMIT $limit) ORDER BY id;", ("$limit", limit));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                entries.Add(HubRows.History(reader));
            }

            return entries;
        });
    }

    // One hub owns a SQLite file, so presence lives in this process: rows would cost a write per connection and,
    // left behind by a killed hub, keep its devices out until they expired.
    public bool TryLease(string device, string node, DateTimeOffset expires, DateTimeOffset now)
    {
        lock (_gate)
        {
            return _leases.TryAdd(device, node) || _leases[device] == node;
        }
    }

    public IReadOnlySet<string> Renew(string node, DateTimeOffset expires)
    {
        lock (_gate)
        {
            return _leases.Where(pair => pair.Value == node).Select(pair => pair.Key).ToHashSet(StringComparer.Ordinal);
        }
    }

    public void Release(string device, string node)
    {
        lock (_gate)
        {
            if (_leases.GetValueOrDefault(device) == node)
            {
                _leases.Remove(device);
            }
        }
    }

    public bool IsLeased(string device, DateTimeOffset now)
    {
        lock (_gate)
        {
            return _leases.ContainsKey(device);
        }
    }

    /// <summary>Nothing: every command reaches this store through this hub, which offers it to its device at once.</summary>
    public IReadOnlyList<string> Waiting(string node) => [];

    /// <summary>No other hub shares the file, so no hint ever comes; ends (cancelled) when the hub stops.</summary>
    public Task ListenAsync(Action<HubSignal> signal, CancellationToken cancellationToken) => Task.Delay(Timeout.Infinite, cancellationToken);

    /// <summary>Every row of <paramref name="table"/>, the named columns in order, for <c>isaac hub migrate</c>.</summary>
    internal IReadOnlyList<object?[]> Dump(string table, IReadOnlyList<string> columns) =>
        Locked<IReadOnlyList<object?[]>>(() =>
        {
            var rows = new List<object?[]>();
            using var command = Command($"SELECT {string.Join(", ", columns)} FROM {table} ORDER BY rowid;");
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                rows.Add([.. columns.Select((_, i) => reader.IsDBNull(i) ? null : reader.GetValue(i))]);
            }

            return rows;
        });

    public void Dispose() => _store.Dispose();

    private string Now() => HubRows.Now(_time);

    private static string Hash(string token) => HubRows.Hash(token);

    private CommandRecord? Find(string sql, params (string, object?)[] parameters) => FindAll(sql, parameters).FirstOrDefault();

    private List<CommandRecord> FindAll(string sql, params (string, object?)[] parameters)
    {
        var records = new List<CommandRecord>();
        using var command = Command(sql, parameters);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            records.Add(HubRows.Command(reader));
        }

        return records;
    }

    // Every method holds the lock and runs through the store, so damage met in use is repaired and the method run again
    // (the store's Run nests: the outermost call repairs). Inside CreateMany every statement joins its transaction.
    // Every statement of the work joins one transaction: one fsync for all of it, and all or nothing.
    private T InTransaction<T>(Func<T> work)
    {
        return Locked(() =>
        {
            if (_transaction is not null)
            {
                return work();
            }

            using var transaction = _store.Connection.BeginTransaction();
            _transaction = transaction;
            try
            {
                var result = work();
                transaction.Commit();
                return result;
            }
            finally
            {
                _transaction = null;
            }
        });
    }

    private T Locked<T>(Func<T> work)
    {
        lock (_gate)
        {
            return _store.Run(_ => work());
        }
    }

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters) => _store.Connection.Command(sql, _transaction, parameters);

    private int Execute(string sql, params (string Name, object? Value)[] parameters) => _store.Run(connection => connection.Execute(sql, _transaction, parameters));

    private object? Scalar(string sql, params (string Name, object? Value)[] parameters) => _store.Run(connection => connection.Scalar<object>(sql, _transaction, parameters));
}
