using System.Globalization;
using Isaac.Core.Devices;
using Isaac.Core.Wire;
using Isaac.Hub.Internal;
using Isaac.Plugins;
using Npgsql;
using NpgsqlTypes;

namespace Isaac.Hub;

/// <summary>
/// The hub's PostgreSQL store (Npgsql), for any number of hubs sharing one database: the same tables as hub.db, plus
/// presence as leased rows (device → hub node, expiry renewed by heartbeats) and LISTEN/NOTIFY hints between hubs.
/// </summary>
public sealed class PostgresHubStore : IHubStore
{
    // One entry per schema version; entry N upgrades version N to N+1. Never edit a shipped entry.
    private static readonly string[] _migrations =
    [
        """
        CREATE TABLE devices (
            name       TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            last_seen  TEXT
        );
        CREATE SEQUENCE command_seq;
        CREATE TABLE commands (
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
            seq        BIGINT NOT NULL UNIQUE,
            parallel   INTEGER NOT NULL DEFAULT 0,
            UNIQUE (sender, unique_key)
        );
        CREATE INDEX ix_commands_target_status ON commands (target, status);
        CREATE INDEX ix_commands_waiting ON commands (target, seq) WHERE status IN ('accepted', 'assigned');
        CREATE TABLE history (
            id     BIGSERIAL PRIMARY KEY,
            device TEXT NOT NULL,
            text   TEXT NOT NULL,
            at     TEXT NOT NULL
        );
        CREATE TABLE presence (
            device  TEXT PRIMARY KEY,
            node    TEXT NOT NULL,
            expires TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX ix_presence_node ON presence (node);
        """,
        "ALTER TABLE commands ADD COLUMN phase TEXT;",
    ];

    /// <summary>The LISTEN/NOTIFY channel the hubs share; payloads are <c>w:&lt;device&gt;</c> (new work) and <c>c:&lt;id&gt;</c> (a command changed).</summary>
    internal const string Channel = "isaac_hub";

    /// <summary>The application_name of each hub's listening connection (tests find and kill it by this name).</summary>
    internal const string ListenerName = "isaac-hub-listener";

    private const long MigrationLock = 0x15AAC_0001;

    private readonly NpgsqlConnectionStringBuilder _connection;
    private readonly NpgsqlDataSource _source;
    private readonly TimeProvider _time;

    /// <summary>Connects, creates or upgrades the schema (several hubs starting at once take turns), and refuses a store newer than this build.</summary>
    /// <exception cref="HubStoreException">The database cannot be reached, is another store, or is newer; the message is one line.</exception>
    public PostgresHubStore(string connectionString, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        try
        {
            _connection = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            throw HubStoreException.Unreachable("(connection string)", ex);
        }

        Where = $"'{_connection.Database ?? _connection.Username}' on {_connection.Host}:{_connection.Port}";
        _connection.ApplicationName ??= "isaac-hub";
        _source = NpgsqlDataSource.Create(_connection.ConnectionString);
        try
        {
            Migrate();
        }
        catch (Exception ex)
        {
            _source.Dispose();
            throw ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException ? HubStoreException.Unreachable(Where, ex) : ex;
        }
    }

    /// <summary>The schema version this build writes.</summary>
    internal static int Version => _migrations.Length;

    /// <summary>Which database, for messages (never the password).</summary>
    public string Where { get; }

    public string? RecoveryNotice => null;

    private void Migrate() => Run(transaction: true, (c, tx) =>
    {
        Execute(c, tx, "SELECT pg_advisory_xact_lock(@key);", ("key", MigrationLock));
        Execute(c, tx, "CREATE TABLE IF NOT EXISTS isaac_schema (what TEXT NOT NULL, version INTEGER NOT NULL);");
        string? what = null;
        var version = 0;
        using (var read = Command(c, tx, "SELECT what, version FROM isaac_schema;"))
        using (var reader = read.ExecuteReader())
        {
            if (reader.Read())
            {
                (what, version) = (reader.GetString(0), reader.GetInt32(1));
            }
        }

        if (what is null)
        {
            Execute(c, tx, "INSERT INTO isaac_schema (what, version) VALUES ('hub', 0);");
        }
        else if (what != "hub")
        {
            throw HubStoreException.Foreign(Where, what);
        }

        if (version > _migrations.Length)
        {
            throw HubStoreException.Newer(Where, version, _migrations.Length);
        }

        for (var next = version; next < _migrations.Length; next++)
        {
            Execute(c, tx, _migrations[next]);
        }

        Execute(c, tx, "UPDATE isaac_schema SET version = @version;", ("version", _migrations.Length));
        return 0;
    });

    public string AddDevice(string name, bool replace)
    {
        if (!DeviceName.TryNormalize(name, out var device, out var problem))
        {
            throw new ArgumentException(problem, nameof(name));
        }

        var token = HubRows.NewToken();
        return Run(transaction: true, (c, tx) =>
        {
            var exists = Convert.ToInt64(Scalar(c, tx, "SELECT COUNT(*) FROM devices WHERE name = @name;", ("name", device)), CultureInfo.InvariantCulture) > 0;
            if (exists && !replace)
            {
                throw new InvalidOperationException($"Device '{device}' is already registered. Use --replace to issue a new token (the old one stops working).");
            }

            Execute(c, tx, """
                INSERT INTO devices (name, token_hash, created_at) VALUES (@name, @hash, @now)
                ON CONFLICT (name) DO UPDATE SET token_hash = EXCLUDED.token_hash;
                """, ("name", device), ("hash", HubRows.Hash(token)), ("now", Now()));
            return token;
        });
    }

    public string? Authenticate(string token) =>
        Run(false, (c, tx) => Scalar(c, tx, "SELECT name FROM devices WHERE token_hash = @hash;", ("hash", HubRows.Hash(token))) as string);

    public bool DeviceExists(string name) =>
        Run(false, (c, tx) => Scalar(c, tx, "SELECT 1 FROM devices WHERE name = @name;", ("name", name)) is not null);

    public IReadOnlyList<DeviceRecord> Devices() => Run(false, (c, tx) => Read(c, tx, HubRows.DevicesSql, HubRows.Device));

    public void Touch(string device) =>
        Run(false, (c, tx) => Execute(c, tx, "UPDATE devices SET last_seen = @now WHERE name = @name;", ("name", device), ("now", Now())));

    public (CommandRecord Record, bool Repeated) Create(string sender, RouteBody body) => CreateMany(sender, [body])[0];

    public IReadOnlyList<(CommandRecord Record, bool Repeated)> CreateMany(string sender, IReadOnlyList<RouteBody> bodies) =>
        Run<IReadOnlyList<(CommandRecord, bool)>>(transaction: true, (c, tx) =>
        {
            // Inserts for one device take turns across hubs (a lock per device, taken in name order so two batches
            // cannot deadlock): sequence numbers are then committed in the order they were drawn, and a hub reading
            // on from the last one it assigned never skips one that committed late.
            foreach (var target in bodies.Select(b => b.Target).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                Execute(c, tx, "SELECT pg_advisory_xact_lock(hashtext(@target));", ("target", target));
            }

            var created = new List<(CommandRecord, bool)>();
            foreach (var body in bodies)
            {
                var id = Guid.NewGuid().ToString("N");
                var inserted = Execute(c, tx, """
                    INSERT INTO commands (id, sender, target, text, unique_key, status, created_at, updated_at, seq, parallel)
                    VALUES (@id, @sender, @target, @text, @key, 'accepted', @now, @now, nextval('command_seq'), @parallel)
                    ON CONFLICT (sender, unique_key) DO NOTHING;
                    """, ("id", id), ("sender", sender), ("target", body.Target), ("text", body.Text), ("key", body.UniqueKey), ("now", Now()),
                    ("parallel", body.Parallel ? 1 : 0));
                if (inserted > 0)
                {
                    Notify(c, tx, "w:" + body.Target);
                }

                var record = inserted > 0
                    ? Read(c, tx, "SELECT * FROM commands WHERE id = @id;", HubRows.Command, ("id", id))
                    : Read(c, tx, "SELECT * FROM commands WHERE sender = @sender AND unique_key = @key;", HubRows.Command, ("sender", sender), ("key", body.UniqueKey));
                created.Add((record.Single(), inserted == 0));
            }

            return created;
        });

    public CommandRecord? Get(string id) =>
        Run(false, (c, tx) => Read(c, tx, "SELECT * FROM commands WHERE id = @id;", HubRows.Command, ("id", id)).FirstOrDefault());

    public IReadOnlyList<CommandRecord> GetMany(IReadOnlyList<string> ids) =>
        Run(false, (c, tx) => Read(c, tx, "SELECT * FROM commands WHERE id = ANY(@ids);", HubRows.Command, ("ids", ids.ToArray())));

    public IReadOnlyList<CommandRecord> NextWaiting(string target, long afterSeq, int limit) =>
        Run(false, (c, tx) => Read(c, tx, """
            SELECT * FROM commands WHERE target = @target AND status IN ('accepted', 'assigned') AND seq > @after ORDER BY seq LIMIT @limit;
            """, HubRows.Command, ("target", target), ("after", afterSeq), ("limit", limit)));

    public IReadOnlyList<string> Working(string target) =>
        Run(false, (c, tx) => Read(c, tx, "SELECT id FROM commands WHERE target = @target AND status IN ('device_accepted', 'running') ORDER BY seq;",
            r => r.GetString(0), ("target", target)));

    public void Assign(string target, IReadOnlyList<string> ids) =>
        Run(transaction: true, (c, tx) => ids.Sum(id => Advance(c, tx, id, target, RoutedStatus.Assigned, null, null, null) ? 1 : 0));

    public IReadOnlyList<string> Apply(string target, IReadOnlyList<AgentMessage> reports) =>
        Run<IReadOnlyList<string>>(transaction: true, (c, tx) =>
        {
            var changed = HubRows.Apply(reports,
                id => Execute(c, tx, HubRows.RequeueSql('@'), ("id", id), ("target", target), ("now", Now())) > 0,
                (id, status, result, error, phase) => Advance(c, tx, id, target, status, result, error, phase));
            foreach (var id in changed)
            {
                Notify(c, tx, "c:" + id); // long-polls at other hubs wake up (delivered at commit)
            }

            return changed;
        });

    private bool Advance(NpgsqlConnection c, NpgsqlTransaction? tx, string id, string target, string status, CommandResponse? result, string? error, string? phase) =>
        Execute(c, tx, HubRows.AdvanceSql('@'), ("id", id), ("target", target), ("status", status),
            ("result", HubRows.ResultJson(result)), ("error", error), ("phase", phase), ("now", Now())) > 0;

    public void AppendHistory(string device, string text) =>
        Run(false, (c, tx) => Execute(c, tx, "INSERT INTO history (device, text, at) VALUES (@device, @text, @now);", ("device", device), ("text", text), ("now", Now())));

    public IReadOnlyList<HistoryEntry> History(int limit) =>
        Run(false, (c, tx) => Read(c, tx, "SELECT device, text, at FROM (SELECT * FROM history ORDER BY id DESC LIMIT @limit) h ORDER BY id;", HubRows.History, ("limit", limit)));

    public bool TryLease(string device, string node, DateTimeOffset expires, DateTimeOffset now) =>
        Run(false, (c, tx) => Execute(c, tx, """
            INSERT INTO presence (device, node, expires) VALUES (@device, @node, @expires)
            ON CONFLICT (device) DO UPDATE SET node = EXCLUDED.node, expires = EXCLUDED.expires
            WHERE presence.node = EXCLUDED.node OR presence.expires < @now;
            """, ("device", device), ("node", node), ("expires", expires), ("now", now)) > 0);

    public IReadOnlySet<string> Renew(string node, DateTimeOffset expires) =>
        Run(false, (c, tx) => Read(c, tx, "UPDATE presence SET expires = @expires WHERE node = @node RETURNING device;", r => r.GetString(0),
            ("node", node), ("expires", expires)).ToHashSet(StringComparer.Ordinal));

    public void Release(string device, string node) =>
        Run(false, (c, tx) => Execute(c, tx, "DELETE FROM presence WHERE device = @device AND node = @node;", ("device", device), ("node", node)));

    public bool IsLeased(string device, DateTimeOffset now) =>
        Run(false, (c, tx) => Scalar(c, tx, "SELECT 1 FROM presence WHERE device = @device AND expires > @now;", ("device", device), ("now", now)) is not null);

    public IReadOnlyList<string> Waiting(string node) =>
        Run(false, (c, tx) => Read(c, tx, """
            SELECT DISTINCT p.device FROM presence p JOIN commands c ON c.target = p.device AND c.status = 'accepted' WHERE p.node = @node;
            """, r => r.GetString(0), ("node", node)));

    /// <summary>LISTENs on its own connection until cancelled; throws when that connection breaks (the caller listens again).</summary>
    public async Task ListenAsync(Action<HubSignal> signal, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(_connection.ConnectionString) { ApplicationName = ListenerName, Pooling = false, KeepAlive = 5 };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        await using (connection.ConfigureAwait(false))
        {
            connection.Notification += (_, e) => signal(e.Payload.StartsWith("w:", StringComparison.Ordinal)
                ? new HubSignal { Device = e.Payload[2..] }
                : new HubSignal { Command = e.Payload[2..] });
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            var listen = new NpgsqlCommand($"LISTEN {Channel};", connection);
            await using (listen.ConfigureAwait(false))
            {
                await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            while (true)
            {
                await connection.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Copies a SQLite hub's whole state (devices with their token hashes, every routed command with its status and
    /// sequence number, the shared history) into this store in one transaction, and checks the counts before it
    /// commits. Refused unless this store holds no commands yet.
    /// </summary>
    public IReadOnlyDictionary<string, long> Import(HubStore from) => Run<IReadOnlyDictionary<string, long>>(transaction: true, (c, tx) =>
    {
        if (Convert.ToInt64(Scalar(c, tx, "SELECT COUNT(*) FROM commands;"), CultureInfo.InvariantCulture) is var existing and > 0)
        {
            throw HubStoreException.NotEmpty(Where, existing);
        }

        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (table, columns, conflict) in _importedTables)
        {
            var rows = from.Dump(table, columns);
            foreach (var row in rows)
            {
                Execute(c, tx, $"INSERT INTO {table} ({string.Join(", ", columns)}) VALUES ({string.Join(", ", columns.Select(n => "@" + n))}) {conflict};",
                    [.. columns.Select((n, i) => (n, row[i]))]);
            }

            var copied = Convert.ToInt64(Scalar(c, tx, $"SELECT COUNT(*) FROM {table};"), CultureInfo.InvariantCulture);
            if (copied != rows.Count)
            {
                throw HubStoreException.CountsDiffer(table, rows.Count, copied);
            }

            counts[table] = copied;
        }

        Execute(c, tx, "SELECT setval('command_seq', GREATEST((SELECT COALESCE(MAX(seq), 0) FROM commands), 1));");
        Execute(c, tx, "SELECT setval(pg_get_serial_sequence('history', 'id'), GREATEST((SELECT COALESCE(MAX(id), 0) FROM history), 1));");
        return counts;
    });

    // Device rows replace a device registered here before (same name): the SQLite hub's token keeps working.
    private static readonly (string Table, string[] Columns, string Conflict)[] _importedTables =
    [
        ("devices", ["name", "token_hash", "created_at", "last_seen"], "ON CONFLICT (name) DO UPDATE SET token_hash = EXCLUDED.token_hash, last_seen = EXCLUDED.last_seen"),
        ("commands", ["id", "sender", "target", "text", "unique_key", "status", "result", "error", "created_at", "updated_at", "seq", "parallel", "phase"], ""),
        ("history", ["id", "device", "text", "at"], ""),
    ];

    public void Dispose() => _source.Dispose();

    private string Now() => HubRows.Now(_time);

    private static void Notify(NpgsqlConnection c, NpgsqlTransaction? tx, string payload) =>
        Execute(c, tx, $"SELECT pg_notify('{Channel}', @payload);", ("payload", payload));

    private T Run<T>(bool transaction, Func<NpgsqlConnection, NpgsqlTransaction?, T> work)
    {
        using var connection = _source.OpenConnection();
        if (!transaction)
        {
            return work(connection, null);
        }

        using var tx = connection.BeginTransaction();
        var result = work(connection, tx);
        tx.Commit();
        return result;
    }

    private static NpgsqlCommand Command(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = new NpgsqlCommand(sql, c, tx);
        foreach (var (name, value) in parameters)
        {
            // A null has no type PostgreSQL could infer (COALESCE(@result, result)); every nullable column is text.
            command.Parameters.Add(value is null or DBNull ? new NpgsqlParameter(name, NpgsqlDbType.Text) { Value = DBNull.Value } : new NpgsqlParameter(name, value));
        }

        return command;
    }

    private static int Execute(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(c, tx, sql, parameters);
        return command.ExecuteNonQuery();
    }

    private static object? Scalar(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(c, tx, sql, parameters);
        return command.ExecuteScalar() is { } value and not DBNull ? value : null;
    }

    private static List<T> Read<T>(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, Func<NpgsqlDataReader, T> row, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(c, tx, sql, parameters);
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(row(reader));
        }

        return rows;
    }
}
