using Isaac.Core.Internal;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Isaac.Core.Queue;

/// <summary>What one round of housekeeping did.</summary>
internal sealed record Housekeeping(int Reset, int Purged);

// How every operation reaches the database: one at a time, in a write transaction taken up front.
internal sealed partial class CommandQueue
{
    /// <summary>
    /// Runs <paramref name="work"/> in a BEGIN IMMEDIATE transaction (the write lock is taken at once, so two processes
    /// never deadlock upgrading read locks), and returns once the commit is on disk. Damage met on the way is repaired and the work run again (it was rolled back).
    /// </summary>
    private async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, DateTimeOffset, T> work, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var store = EnsureOpen();
            var written = store.Run(connection =>
            {
                T result;
                using (var transaction = connection.BeginTransaction(deferred: false))
                {
                    result = work(connection, transaction, _time.GetUtcNow());
                    transaction.Commit();
                }

                PublishIfWatched(connection);
                return result;
            });

            // Durable before it is reported: the fsync runs after SQLite released the write lock (group commit).
            store.Flush();
            return written;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<T> ReadAsync<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return EnsureOpen().Run(work);
        }
        finally
        {
            _gate.Release();
        }
    }

    // Called under the gate. The first use opens the file (creating, upgrading or rescuing it) and does the start-up housekeeping.
    private SqliteStore EnsureOpen()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_store is { } open)
        {
            return open;
        }

        var store = SqliteStore.Open(_path, Schema, _options.BusyTimeout, _time, _logger, groupCommit: true);
        try
        {
            store.Run(connection => Housekeep(connection, _time.GetUtcNow()));
        }
        catch
        {
            store.Dispose();
            throw;
        }

        _store = store;
        _logger.LogInformation("Queue database {Path} open (schema version {Version})", _path, SchemaVersion);
        return store;
    }

    // Start-up and periodic: stranded "syncing" rows back to pending, old delivered rows out.
    private Housekeeping Housekeep(SqliteConnection connection, DateTimeOffset now)
    {
        using var transaction = connection.BeginTransaction(deferred: false);
        var reset = connection.Execute("UPDATE command_queue SET status = 'pending', claimed_at = NULL WHERE status = 'syncing' AND claimed_at < $cutoff;",
            transaction, ("$cutoff", Iso.From(now - _options.StaleSyncingAfter)));
        var purgeDue = now - _lastPurge >= TimeSpan.FromDays(1);
        var purged = purgeDue
            ? connection.Execute("DELETE FROM command_queue WHERE status = 'done' AND completed_at < $cutoff;", transaction, ("$cutoff", Iso.From(now - _options.DoneRetention)))
            : 0;
        transaction.Commit();
        if (purgeDue)
        {
            _lastPurge = now;
        }

        if (reset + purged > 0)
        {
            _logger.LogInformation("Housekeeping: {Reset} stale syncing command(s) made pending, {Purged} delivered command(s) purged", reset, purged);
            PublishIfWatched(connection);
        }

        return new Housekeeping(reset, purged);
    }
}
