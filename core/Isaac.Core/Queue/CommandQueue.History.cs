using Isaac.Core.Internal;

namespace Isaac.Core.Queue;

// Shared history: plain commands on their way to the hub's history. Not the user's queued work: never counted in
// the status, never announced, and best effort (the oldest entries go beyond a cap while the hub is away).
internal sealed partial class CommandQueue
{
    private const int HistoryCap = 10_000;

    public Task ShareHistoryAsync(string text, CancellationToken cancellationToken = default) =>
        WriteAsync((connection, transaction, now) =>
        {
            var id = connection.Scalar<long>("INSERT INTO shared_history (text, at) VALUES ($text, $now) RETURNING id;", transaction, ("$text", text), ("$now", Iso.From(now)));
            return id % 100 == 0
                ? connection.Execute("DELETE FROM shared_history WHERE id <= $id - $cap;", transaction, ("$id", id), ("$cap", HistoryCap))
                : 0;
        }, cancellationToken);

    /// <summary>The oldest history entries still to send, at most <paramref name="limit"/>.</summary>
    public Task<IReadOnlyList<(long Id, string Text)>> PeekHistoryAsync(int limit, CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<(long, string)>>(connection =>
        {
            var entries = new List<(long, string)>();
            using var command = connection.Command("SELECT id, text FROM shared_history ORDER BY id LIMIT $limit;", null, ("$limit", limit));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                entries.Add((reader.GetInt64(0), reader.GetString(1)));
            }

            return entries;
        }, cancellationToken);

    /// <summary>Forgets entries the hub has taken.</summary>
    public Task ForgetHistoryAsync(long throughId, CancellationToken cancellationToken = default) =>
        WriteAsync((connection, transaction, _) => connection.Execute("DELETE FROM shared_history WHERE id <= $id;", transaction, ("$id", throughId)), cancellationToken);
}
