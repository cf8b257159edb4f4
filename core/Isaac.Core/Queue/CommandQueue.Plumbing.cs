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
    /// Runs <paramref name="work"/> in a write transaction (<see cref="SqliteStore.Write{T}"/>) and returns once the commit
    /// is on disk; a watched status is published after that. Damage met on the way is repaired and the work run again (it was rolled back).
    /// </summary>
    private async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, DateTimeOffset, T> work, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var store = EnsureOpen();
            var written = store.Write((connection, transaction) => work(connection, transaction, _time.GetUtcNow()));
            if (_status is not null)
            {
                store.Run(connection =>
                {
                    PublishIfWatched(connection);
                    return 0;
                });
            }

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
        var purged = 0;
        if (purgeDue)
        {
            // Routed results the person has seen go the way of delivered commands (through ix_routed_at: old rows only).
            var cutoff = Iso.From(now - _options.DoneRetention);
            purged = connection.Execute("DELETE FROM command_queue WHERE status = 'done' AND completed_at < $cutoff;", transaction, ("$cutoff", cutoff));
            connection.Execute("DELETE FROM routed WHERE routed_at < $cutoff AND shown = 1;", transaction, ("$cutoff", cutoff));
        }

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
