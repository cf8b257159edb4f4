using System.Text.Json;
using Isaac.Core.Internal;
using Isaac.Core.Wire;
using Isaac.Plugins;
using Microsoft.Data.Sqlite;

namespace Isaac.Core.Queue;

// The result inbox: routed commands this device sent whose results come back later.
internal sealed partial class CommandQueue
{
    async Task<long> ICommandQueue.EnqueueAsync(string type, string text, string? target, string uniqueKey, CancellationToken cancellationToken) =>
        (await EnqueueAsync(new EnqueueRequest { Type = type, Text = text, Target = target, UniqueKey = uniqueKey }, cancellationToken).ConfigureAwait(false)).Id;

    // The result inbox's questions, named so that a test can check with EXPLAIN QUERY PLAN that each is a seek (schema 5).
    private const string RoutedColumns = "SELECT id, target, text, status, result, error FROM routed";
    private const string Final = "status IN ('completed', 'failed', 'rejected', 'in_doubt')";
    internal const string RecentRoutedSql = $"{RoutedColumns} ORDER BY routed_at DESC LIMIT $limit;";
    internal const string OpenRoutedSql = $"{RoutedColumns} WHERE status NOT IN ('completed', 'failed', 'rejected', 'in_doubt') ORDER BY routed_at LIMIT $limit;";
    internal const string ArrivedSql = $"{RoutedColumns} WHERE shown = 0 AND {Final} ORDER BY updated_at;";

    /// <summary>Records (or updates) a routed command; a finished one is "unshown" until <see cref="TakeArrivedAsync"/> returns it.</summary>
    public Task TrackRoutedAsync(RoutedCommand command, CancellationToken cancellationToken = default) =>
        TrackRoutedAsync([command], cancellationToken);

    /// <summary>
    /// <see cref="TrackRoutedAsync(RoutedCommand, CancellationToken)"/> for many records in ONE transaction: a batch
    /// the hub took, or the results one long-poll brought, cost one fsync together.
    /// </summary>
    public async Task TrackRoutedAsync(IReadOnlyCollection<RoutedCommand> commands, CancellationToken cancellationToken = default)
    {
        if (commands.Count == 0)
        {
            return;
        }

        await WriteAsync((connection, transaction, now) =>
        {
            using var track = connection.Command("""
                INSERT INTO routed (id, target, text, status, result, error, routed_at, updated_at) VALUES ($id, $target, $text, $status, $result, $error, $now, $now)
                ON CONFLICT (id) DO UPDATE SET status = excluded.status, result = excluded.result, error = excluded.error, updated_at = excluded.updated_at;
                """, transaction, ("$id", null), ("$target", null), ("$text", null), ("$status", null), ("$result", null), ("$error", null), ("$now", Iso.From(now)));
            foreach (var command in commands)
            {
                track.Parameters["$id"].Value = command.Id;
                track.Parameters["$target"].Value = command.Target;
                track.Parameters["$text"].Value = command.Text;
                track.Parameters["$status"].Value = command.Status;
                track.Parameters["$result"].Value = command.Result is { } result ? JsonSerializer.Serialize(result, IsaacJson.Default.CommandResponse) : DBNull.Value;
                track.Parameters["$error"].Value = (object?)command.Error ?? DBNull.Value;
                track.ExecuteNonQuery();
            }

            return 0;
        }, cancellationToken).ConfigureAwait(false);
        if (commands.Any(c => !RoutedStatus.IsFinal(c.Status)))
        {
            ResultsAwaited?.Invoke();
        }
    }

    /// <summary>
    /// Raised after routed commands whose results are still to come were stored by this instance, so that the result
    /// inbox asks the hub at once instead of at its next idle check. A plain event: Rx stays unloaded in one-shot runs.
    /// </summary>
    public event Action? ResultsAwaited;

    /// <summary>The person has seen this routed command's result already.</summary>
    public Task MarkShownAsync(string id, CancellationToken cancellationToken = default) =>
        WriteAsync((connection, transaction, _) => connection.Execute("UPDATE routed SET shown = 1 WHERE id = $id;", transaction, ("$id", id)), cancellationToken);

    public Task<IReadOnlyList<RoutedCommand>> ListRoutedAsync(int limit, CancellationToken cancellationToken = default) =>
        ReadAsync(connection => ReadRouted(connection, RecentRoutedSql, null, ("$limit", limit)), cancellationToken);

    /// <summary>Routed commands still waiting for a final state, oldest first.</summary>
    public Task<IReadOnlyList<RoutedCommand>> ListUnfinishedRoutedAsync(int limit = int.MaxValue, CancellationToken cancellationToken = default) =>
        ReadAsync(connection => ReadRouted(connection, OpenRoutedSql, null, ("$limit", limit)), cancellationToken);

    /// <summary>Finished routed commands not yet shown to the person, marked shown.</summary>
    /// <remarks>Asked by the result inbox at every pass: when nothing arrived it is a read, not a write and an fsync.</remarks>
    public async Task<IReadOnlyList<RoutedCommand>> TakeArrivedAsync(CancellationToken cancellationToken = default)
    {
        if (await ReadAsync(connection => connection.Scalar<long>($"SELECT EXISTS (SELECT 1 FROM routed WHERE shown = 0 AND {Final});") == 0, cancellationToken).ConfigureAwait(false))
        {
            return [];
        }

        return await WriteAsync((connection, transaction, _) =>
        {
            var arrived = ReadRouted(connection, ArrivedSql, transaction);
            connection.Execute($"UPDATE routed SET shown = 1 WHERE shown = 0 AND {Final};", transaction);
            return arrived;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Commands still in this queue, per target device.</summary>
    public Task<IReadOnlyDictionary<string, int>> CountWaitingByTargetAsync(CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyDictionary<string, int>>(connection =>
        {
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            // From the counters (schema 4), not the rows: /devices costs the same at any depth.
            using var command = connection.Command("""
                SELECT target, SUM(n) FROM queue_counts
                WHERE status IN ('pending', 'syncing', 'failed') AND target <> ''
                GROUP BY target HAVING SUM(n) > 0;
                """, null);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                counts[reader.GetString(0)] = reader.GetInt32(1);
            }

            return counts;
        }, cancellationToken);

    /// <summary>Remembers a small value (the hub's last device list) for when the hub cannot be reached.</summary>
    public Task RememberAsync(string key, string value, CancellationToken cancellationToken = default) =>
        WriteAsync((connection, transaction, _) => connection.Execute(
            "INSERT INTO queue_state (key, value) VALUES ($key, $value) ON CONFLICT (key) DO UPDATE SET value = excluded.value;", transaction, ("$key", key), ("$value", value)), cancellationToken);

    public Task<string?> RecallAsync(string key, CancellationToken cancellationToken = default) =>
        ReadAsync(connection => connection.Scalar<string>("SELECT value FROM queue_state WHERE key = $key;", null, ("$key", key)), cancellationToken);

    private static IReadOnlyList<RoutedCommand> ReadRouted(SqliteConnection connection, string sql, SqliteTransaction? transaction, params (string, object?)[] parameters)
    {
        var commands = new List<RoutedCommand>();
        using var command = connection.Command(sql, transaction, parameters);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            commands.Add(new RoutedCommand
            {
                Id = reader.GetString(0),
                Target = reader.GetString(1),
                Text = reader.GetString(2),
                Status = reader.GetString(3),
                Result = reader.IsDBNull(4) ? null : JsonSerializer.Deserialize(reader.GetString(4), IsaacJson.Default.CommandResponse),
                Error = reader.IsDBNull(5) ? null : reader.GetString(5),
            });
        }

        return commands;
    }
}
