using System.Data;
using Isaac.Core.Internal;
using Isaac.Plugins;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Isaac.Core.Queue;

/// <summary>
/// The durable queue of commands waiting for the hub: <c>&lt;ISAAC_HOME&gt;/queue.db</c> (DESIGN §4).
/// One connection per instance, used by one operation at a time; other processes sharing the file are
/// kept consistent by SQLite's locking (WAL, write transactions taken with BEGIN IMMEDIATE). The database
/// is opened on first use.
/// </summary>
internal sealed partial class CommandQueue : ICommandQueue, IAsyncDisposable
{
    private readonly string _path;
    private readonly QueueOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private SqliteStore? _store;
    private DateTimeOffset _lastPurge;

    public CommandQueue(string path, QueueOptions? options = null, TimeProvider? time = null, Random? random = null, ILogger<CommandQueue>? logger = null)
    {
        _path = Path.GetFullPath(path);
        _options = options ?? QueueOptions.Default;
        _options.Validate();
        _time = time ?? TimeProvider.System;
        _random = random ?? Random.Shared;
        _logger = logger ?? NullLogger<CommandQueue>.Instance;
    }

    public string DatabasePath => _path;

    /// <summary>The open store, or null before first use (for tests that inject faults on its connection).</summary>
    internal SqliteStore? Store => _store;

    public async Task<EnqueueResult> EnqueueAsync(EnqueueRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Text);
        EnqueueResult result;
        try
        {
            result = await WriteAsync((connection, transaction, now) =>
            {
                var coalesced = request.CoalesceKey is { } key
                    ? connection.Execute("DELETE FROM command_queue WHERE coalesce_key = $key AND target_device IS $target AND status IN ('pending', 'failed');",
                        transaction, ("$key", key), ("$target", request.Target))
                    : 0;
                var id = Insert(connection, transaction, request, now);
                using var counts = connection.Prepared(
                    $"SELECT COALESCE(SUM(n), 0), COALESCE(SUM(n) FILTER (WHERE target = $target), 0) FROM queue_counts WHERE {Waiting};",
                    transaction, ("$target", request.Target ?? "")).ExecuteReader();
                counts.Read();
                return new EnqueueResult(id, coalesced, counts.GetInt64(0) > _options.SoftLimit, (int)counts.GetInt64(1) - 1);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (StoreException ex) when (ex.Failure != StoreFailure.NotFlushed)
        {
            throw ex.NotQueued();
        }

        LogEnqueued(result.Id, request.Type, request.Target ?? "this device", request.Text, result.Coalesced);
        if (result.OverSoftLimit)
        {
            _logger.LogWarning("The queue holds more than its soft limit of {Limit} commands", _options.SoftLimit);
        }

        return result;
    }

    [LoggerMessage(LogLevel.Information, "Enqueued #{Id} ({Type}) for {Target}: {Text}; replaced {Coalesced}")]
    private partial void LogEnqueued(long id, string type, string target, string text, int coalesced);

    // The id rule (never reused) is explained with schema version 4.
    private static long Insert(SqliteConnection connection, SqliteTransaction transaction, EnqueueRequest request, DateTimeOffset now) =>
        (long)connection.Prepared("""
            INSERT INTO command_queue (id, queued_at, command_type, command_text, target_device, metadata, unique_key, parallel, next_attempt_at, expires_at, coalesce_key)
            VALUES (1 + MAX(COALESCE((SELECT MAX(id) FROM command_queue), 0), COALESCE((SELECT MAX(id) FROM dead_letter), 0),
                    COALESCE((SELECT CAST(value AS INTEGER) FROM queue_state WHERE key = 'id_floor'), 0)),
                $now, $type, $text, $target, $metadata, $key, $parallel, $now, $expires, $coalesce)
            RETURNING id;
            """, transaction, ("$now", Iso.From(now)), ("$type", request.Type), ("$text", request.Text), ("$target", request.Target),
            ("$metadata", request.Metadata), ("$key", request.UniqueKey ?? Guid.NewGuid().ToString("N")), ("$parallel", request.Parallel),
            ("$expires", request.TimeToLive is { } ttl ? Iso.From(now + ttl) : null), ("$coalesce", request.CoalesceKey)).ExecuteScalar()!;

    // The queue_counts statuses of commands not yet delivered.
    private const string Waiting = "status IN ('pending', 'syncing', 'failed')";

    // The per-operation queries, named so that a test can check with EXPLAIN QUERY PLAN that each is a seek, not a scan.
    internal const string WaitingTargetsSql = $"SELECT target FROM queue_counts WHERE {Waiting} GROUP BY target HAVING SUM(n) > 0;";
    internal const string HeadSql = """
        SELECT id, command_type, command_text, unique_key, parallel, retry_count, metadata, status, next_attempt_at, expires_at
        FROM command_queue WHERE target_device IS $target AND status <> 'done' ORDER BY id;
        """;
    private const string ListColumns = "SELECT id, command_type, command_text, target_device, status, queued_at, retry_count, error_message, next_attempt_at FROM command_queue";
    internal const string WaitingListSql = $"{ListColumns} WHERE target_device IS $target AND status <> 'done' ORDER BY id LIMIT $limit;";
    internal const string FailedListSql = $"{ListColumns} WHERE status = 'failed' ORDER BY id LIMIT $limit;";

    /// <summary>
    /// Claims the next due commands of every target and marks them syncing, in one transaction so that no
    /// two processes claim the same command. Per target, order is strict: the oldest undelivered command
    /// goes first, and while it is in flight or waiting out its back-off nothing behind it is claimed.
    /// Consecutive due commands of one target travel together, up to <paramref name="maxBatch"/>: the hub keeps
    /// their order and the device runs a sequential one alone (transport batches, execution order is the device's job).
    /// Commands past their time-to-live move to the dead letters on the way.
    /// </summary>
    public Task<IReadOnlyList<ClaimedBatch>> ClaimAsync(int maxBatch = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        return WriteAsync<IReadOnlyList<ClaimedBatch>>((connection, transaction, now) =>
        {
            var batches = new List<ClaimedBatch>();
            foreach (var target in WaitingTargets(connection, transaction))
            {
                if (NextBatch(connection, transaction, target, now, maxBatch) is { Count: > 0 } batch)
                {
                    var ids = string.Join(',', batch.Select(c => c.Id));
                    connection.Execute($"UPDATE command_queue SET status = 'syncing', claimed_at = $now WHERE id IN ({ids});", transaction, ("$now", Iso.From(now)));
                    batches.Add(new ClaimedBatch(target, batch));
                }
            }

            return batches;
        }, cancellationToken);
    }

    // The targets with commands not yet delivered, from the counters: no scan of the waiting rows. Each target's head is
    // then one seek into ix_command_queue_waiting (target_device, id).
    private static List<string?> WaitingTargets(SqliteConnection connection, SqliteTransaction? transaction)
    {
        var targets = new List<string?>();
        using var command = connection.Command(WaitingTargetsSql, transaction);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            targets.Add(reader.GetString(0) is { Length: > 0 } target ? target : null);
        }

        return targets;
    }

    private List<ClaimedCommand> NextBatch(SqliteConnection connection, SqliteTransaction transaction, string? target, DateTimeOffset now, int maxBatch)
    {
        var batch = new List<ClaimedCommand>();
        var expired = new List<long>();
        using (var command = connection.Command(HeadSql, transaction, ("$target", target)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read() && batch.Count < maxBatch)
            {
                if (!reader.IsDBNull(9) && Iso.Parse(reader.GetString(9)) <= now && reader.GetString(7) != "syncing")
                {
                    expired.Add(reader.GetInt64(0));
                    continue;
                }

                var due = reader.GetString(7) != "syncing" && Iso.Parse(reader.GetString(8)) <= now;
                if (!due)
                {
                    break;
                }

                batch.Add(new ClaimedCommand(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), target, reader.GetString(3),
                    reader.GetBoolean(4), reader.GetInt32(5), reader.IsDBNull(6) ? null : reader.GetString(6)));
            }
        }

        foreach (var id in expired)
        {
            BuryDead(connection, transaction, id, "expired: its time-to-live ran out before it could be delivered", now);
            _logger.LogWarning("Command #{Id} expired before delivery and moved to the dead letters", id);
        }

        return batch;
    }

    /// <summary>Marks delivered commands done and records the time of the sync.</summary>
    public Task MarkDoneAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default) =>
        MarkDoneAsync(ids.Select(id => (id, (string?)null)).ToList(), cancellationToken);

    /// <summary>Marks delivered commands done, each with the hub's id for it (null for one the hub keeps no record of).</summary>
    public async Task MarkDoneAsync(IReadOnlyCollection<(long Id, string? HubId)> delivered, CancellationToken cancellationToken = default)
    {
        if (delivered.Count == 0)
        {
            return;
        }

        var ids = delivered.Select(d => d.Id).ToList();
        await WriteAsync((connection, transaction, now) =>
        {
            using var done = connection.Command("UPDATE command_queue SET status = 'done', completed_at = $now, error_message = NULL, hub_id = $hub WHERE id = $id;",
                transaction, ("$now", Iso.From(now)), ("$hub", null), ("$id", null));
            foreach (var (id, hubId) in delivered)
            {
                done.Parameters["$id"].Value = id;
                done.Parameters["$hub"].Value = (object?)hubId ?? DBNull.Value;
                done.ExecuteNonQuery();
            }

            connection.Execute("INSERT INTO queue_state (key, value) VALUES ('last_sync_at', $now) ON CONFLICT (key) DO UPDATE SET value = excluded.value;",
                transaction, ("$now", Iso.From(now)));
            return 0;
        }, cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("Delivered {Count} command(s): #{Ids}", ids.Count, string.Join(", #", ids));
    }

    /// <summary>Puts claimed commands back as they were, without counting an attempt (the hub was not reached).</summary>
    public Task ReleaseAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default) =>
        ids.Count == 0 ? Task.CompletedTask : UnclaimAsync($"id IN ({string.Join(',', ids)}) AND status = 'syncing'", cancellationToken);

    /// <summary>Makes every "syncing" command claimable again. Only for a drainer holding the sync lock: then no one else can be delivering them.</summary>
    public Task<int> ReclaimAllSyncingAsync(CancellationToken cancellationToken = default) => UnclaimAsync("status = 'syncing'", cancellationToken);

    private Task<int> UnclaimAsync(string where, CancellationToken cancellationToken) =>
        WriteAsync((connection, transaction, _) => connection.Execute(
            $"UPDATE command_queue SET status = CASE WHEN retry_count > 0 THEN 'failed' ELSE 'pending' END, claimed_at = NULL WHERE {where};", transaction), cancellationToken);

    /// <summary>
    /// Records a failed delivery: the command waits out an exponential back-off, or after
    /// <see cref="QueueOptions.MaxAttempts"/> failures moves to the dead letters. Returns the next attempt
    /// time, or null when it is now dead.
    /// </summary>
    /// <param name="permanent">The hub refused the command itself (unknown device, invalid text): retrying cannot help, so it goes straight to the dead letters.</param>
    public async Task<DateTimeOffset?> MarkFailedAsync(long id, string error, bool permanent = false, CancellationToken cancellationToken = default)
    {
        var next = await WriteAsync<DateTimeOffset?>((connection, transaction, now) =>
        {
            var failures = (int)connection.Scalar<long>("SELECT retry_count + 1 FROM command_queue WHERE id = $id;", transaction, ("$id", id));
            if (failures >= _options.MaxAttempts || permanent)
            {
                connection.Execute("UPDATE command_queue SET retry_count = $failures WHERE id = $id;", transaction, ("$id", id), ("$failures", failures));
                BuryDead(connection, transaction, id, error, now);
                return null;
            }

            var at = now + Backoff.Delay(failures, _options.BaseBackoff, _options.MaxBackoff, _random);
            connection.Execute("""
                UPDATE command_queue SET status = 'failed', retry_count = $failures, last_retry_at = $now, error_message = $error, next_attempt_at = $next, claimed_at = NULL
                WHERE id = $id;
                """, transaction, ("$id", id), ("$failures", failures), ("$now", Iso.From(now)), ("$error", error), ("$next", Iso.From(at)));
            return at;
        }, cancellationToken).ConfigureAwait(false);

        if (next is { } retryAt)
        {
            _logger.LogWarning("Command #{Id} failed ({Error}); next attempt at {Next:o}", id, error, retryAt);
        }
        else
        {
            _logger.LogError("Command #{Id} failed ({Error}) for the last time and moved to the dead letters", id, error);
        }

        return next;
    }

    /// <summary>
    /// Makes commands left "syncing" longer than <see cref="QueueOptions.StaleSyncingAfter"/> (a crash mid-delivery)
    /// pending again, and deletes delivered ones older than <see cref="QueueOptions.DoneRetention"/> once a day.
    /// Runs when the database opens and then periodically while <see cref="Changes"/> is watched.
    /// </summary>
    public Task<Housekeeping> HousekeepAsync(CancellationToken cancellationToken = default) =>
        ReadAsync(connection => Housekeep(connection, _time.GetUtcNow()), cancellationToken);

    public Task<QueueStatus> GetStatusAsync(CancellationToken cancellationToken = default) =>
        ReadAsync(CountStatus, cancellationToken);

    /// <summary>
    /// The first <paramref name="limit"/> commands of a view, oldest first. The waiting view reads at most
    /// <paramref name="limit"/> rows per target through ix_command_queue_waiting and merges them, so it costs the same
    /// whatever the depth (one index over all waiting rows in id order would cost another page write per enqueue).
    /// </summary>
    public Task<IReadOnlyList<QueuedCommand>> ListAsync(QueueView view, int limit, CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<QueuedCommand>>(connection =>
        {
            var commands = new List<QueuedCommand>();
            switch (view)
            {
                case QueueView.Dead:
                    ReadCommands(connection, "SELECT id, command_type, command_text, target_device, 'dead', queued_at, attempts, final_error, NULL FROM dead_letter ORDER BY id LIMIT $limit;",
                        limit, null, commands);
                    break;
                case QueueView.Failed:
                    ReadCommands(connection, FailedListSql, limit, null, commands);
                    break;
                default:
                    foreach (var target in WaitingTargets(connection, null))
                    {
                        ReadCommands(connection, WaitingListSql, limit, target, commands);
                    }

                    commands.Sort((a, b) => a.Id.CompareTo(b.Id));
                    if (commands.Count > limit)
                    {
                        commands.RemoveRange(limit, commands.Count - limit);
                    }

                    break;
            }

            return commands;
        }, cancellationToken);

    private static void ReadCommands(SqliteConnection connection, string sql, int limit, string? target, List<QueuedCommand> into)
    {
        using var command = connection.Command(sql, null, ("$limit", limit), ("$target", target));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            into.Add(new QueuedCommand
            {
                Id = reader.GetInt64(0),
                Type = reader.GetString(1),
                Text = reader.GetString(2),
                Target = reader.IsDBNull(3) ? null : reader.GetString(3),
                Status = reader.GetString(4),
                QueuedAt = Iso.Parse(reader.GetString(5)),
                Attempts = reader.GetInt32(6),
                LastError = reader.IsDBNull(7) ? null : reader.GetString(7),
                NextAttemptAt = Iso.ParseOptional(reader.GetValue(8)),
            });
        }
    }

    /// <summary>Where one queued command stands now: waiting, delivered (with the hub's id), dead, or gone (dropped).</summary>
    public Task<QueuedState> GetStateAsync(long id, CancellationToken cancellationToken = default) =>
        ReadAsync(connection =>
        {
            using (var command = connection.Command("SELECT status, hub_id, error_message FROM command_queue WHERE id = $id;", null, ("$id", id)))
            using (var reader = command.ExecuteReader())
            {
                if (reader.Read())
                {
                    return new QueuedState(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2));
                }
            }

            return connection.Scalar<string>("SELECT final_error FROM dead_letter WHERE id = $id;", null, ("$id", id)) is { } final
                ? new QueuedState("dead", null, final)
                : new QueuedState("gone", null, null);
        }, cancellationToken);

    /// <summary>Commands that moved to the dead letters after <paramref name="since"/>, oldest first: what to tell the person about.</summary>
    public Task<IReadOnlyList<DeadLetter>> DeadSinceAsync(DateTimeOffset since, CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<DeadLetter>>(connection =>
        {
            var dead = new List<DeadLetter>();
            using var command = connection.Command(
                "SELECT id, command_text, target_device, final_error, failed_at FROM dead_letter WHERE failed_at > $since ORDER BY failed_at LIMIT 100;", null, ("$since", Iso.From(since)));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                dead.Add(new DeadLetter(reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3), Iso.Parse(reader.GetString(4))));
            }

            return dead;
        }, cancellationToken);

    public async Task<int> RetryAsync(long? id, CancellationToken cancellationToken = default)
    {
        var retried = await WriteAsync((connection, transaction, now) =>
        {
            var filter = id is null ? "" : " AND id = $id";
            var failed = connection.Execute($"UPDATE command_queue SET next_attempt_at = $now WHERE status = 'failed'{filter};", transaction, ("$now", Iso.From(now)), ("$id", id));
            var dead = connection.Execute($"""
                INSERT INTO command_queue (id, queued_at, command_type, command_text, target_device, retry_count, status, metadata, unique_key, parallel, next_attempt_at, error_message)
                SELECT id, queued_at, command_type, command_text, target_device, 0, 'pending', metadata, unique_key, parallel, $now, final_error
                FROM dead_letter WHERE 1 = 1{filter};
                """, transaction, ("$now", Iso.From(now)), ("$id", id));
            connection.Execute($"DELETE FROM dead_letter WHERE 1 = 1{filter};", transaction, ("$id", id));
            return failed + dead;
        }, cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("Retry of {What}: {Count} command(s) due now", id is null ? "all" : $"#{id}", retried);
        return retried;
    }

    public async Task<bool> DropAsync(long id, CancellationToken cancellationToken = default)
    {
        var dropped = await WriteAsync((connection, transaction, _) =>
            connection.Execute("DELETE FROM command_queue WHERE id = $id AND status IN ('pending', 'failed');", transaction, ("$id", id))
            + connection.Execute("DELETE FROM dead_letter WHERE id = $id;", transaction, ("$id", id)), cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("Drop #{Id}: {Result}", id, dropped > 0 ? "dropped" : "no such waiting command");
        return dropped > 0;
    }

    private static void BuryDead(SqliteConnection connection, SqliteTransaction transaction, long id, string error, DateTimeOffset now)
    {
        // Delete, then insert: a REPLACE would skip dead_letter's delete trigger and leave its counter one too high.
        connection.Execute("""
            DELETE FROM dead_letter WHERE id = $id;
            INSERT INTO dead_letter (id, queued_at, command_type, command_text, target_device, unique_key, parallel, metadata, attempts, final_error, failed_at)
            SELECT id, queued_at, command_type, command_text, target_device, unique_key, parallel, metadata, retry_count, $error, $now FROM command_queue WHERE id = $id;
            DELETE FROM command_queue WHERE id = $id;
            """, transaction, ("$id", id), ("$error", error), ("$now", Iso.From(now)));
    }

    // From the counters: a handful of rows whatever the depth, so the status (and the watcher after every write) is O(1).
    private static QueueStatus CountStatus(SqliteConnection connection)
    {
        int pending = 0, syncing = 0, failed = 0, done = 0, dead = 0;
        using (var command = connection.Command("SELECT status, SUM(n) FROM queue_counts GROUP BY status;", null))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var count = reader.GetInt32(1);
                switch (reader.GetString(0))
                {
                    case "pending": pending = count; break;
                    case "syncing": syncing = count; break;
                    case "failed": failed = count; break;
                    case "done": done = count; break;
                    case "dead": dead = count; break;
                }
            }
        }

        return new QueueStatus
        {
            Pending = pending,
            Syncing = syncing,
            Failed = failed,
            Done = done,
            Dead = dead,
            LastSyncAt = Iso.ParseOptional(connection.Scalar<object>("SELECT value FROM queue_state WHERE key = 'last_sync_at';")),
        };
    }
}
