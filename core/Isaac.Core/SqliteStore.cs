using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Isaac.Core.Internal;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;

namespace Isaac.Core;

/// <summary>
/// One open Isaac SQLite file (queue.db, agent.db, hub.db), and the one way all three are opened, checked, upgraded
/// and rescued:
/// <list type="bullet">
/// <item>Ownership: a new file is stamped with the store's <c>application_id</c>; an existing file with another id,
/// or an unstamped one whose tables are not this store's, is refused (<see cref="StoreFailure.Foreign"/>) before
/// anything is written to it. <c>user_version</c> is the schema version; a newer one is refused.</item>
/// <item>Damage (SQLITE_CORRUPT, SQLITE_NOTADB, a failed <c>quick_check</c> on open, or damage met while in use):
/// <c>quick_check</c> reads the whole file, so it runs on open only for stores that ask for it
/// (<see cref="StoreSchema.CheckOnOpen"/>) and for a suspect file: one for which SQLite reported damage or an I/O
/// error while in use, recorded by a <c>&lt;name&gt;.suspect</c> file beside it until a check passes (a process that
/// met the damage itself checks again at once).
/// the file is moved to <c>&lt;name&gt;.corrupt-&lt;UTC time&gt;</c>, a fresh store is created, every row that can
/// still be read is copied into it from the damaged file (opened read-only), and <see cref="RecoveryNotice"/> says
/// how many were kept.</item>
/// <item>Everything else a person can cause (read-only file or folder, disk full, a folder in the file's place,
/// permission denied, a lock held too long) becomes a <see cref="StoreException"/> with a one-line message.</item>
/// </list>
/// Not thread-safe: each store calls it under its own lock.
/// </summary>
public sealed class SqliteStore : IDisposable
{
    private const int SqlitePerm = 3;
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
    private const int SqliteReadOnly = 8;
    private const int SqliteIoError = 10;
    private const int SqliteCorrupt = 11;
    private const int SqliteFull = 13;
    private const int SqliteConstraint = 19;
    private const int SqliteMismatch = 20;
    private const int SqliteNotADatabase = 26;
    private const int NoSpaceLeft = 28; // ENOSPC

    private static readonly byte[] _magic = "SQLite format 3\0"u8.ToArray();

    private readonly StoreSchema _schema;
    private readonly TimeSpan _busyTimeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly bool _groupCommit;
    private SqliteConnection? _connection;
    private SafeFileHandle? _wal;
    private bool _flushWal;
    private bool _suspect;
    private readonly List<System.Runtime.InteropServices.GCHandle> _busyHandlers = [];
    private long _busySince;
    private bool _disposed;
    private int _depth;

    private SqliteStore(string path, StoreSchema schema, TimeSpan busyTimeout, TimeProvider time, ILogger logger, bool groupCommit)
    {
        Path = System.IO.Path.GetFullPath(path);
        _schema = schema;
        _busyTimeout = busyTimeout;
        _time = time;
        _logger = logger;
        _groupCommit = groupCommit;
    }

    /// <summary>The full path of the database file.</summary>
    public string Path { get; }

    /// <summary>Set when a damaged file was replaced: one line saying where it went and how many rows were kept.</summary>
    public string? RecoveryNotice { get; private set; }

    /// <summary>The open connection. It changes when damage found in use is repaired: never keep it across calls.</summary>
    public SqliteConnection Connection
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _connection ??= OpenOrRecover();
        }
    }

    /// <summary>Opens (creating, upgrading or rescuing as needed) the store at <paramref name="path"/>.</summary>
    /// <param name="groupCommit">The caller calls <see cref="Flush"/> after each commit it reports as done (see there).</param>
    /// <exception cref="StoreException">The file cannot be used; the message says why and what to do.</exception>
    public static SqliteStore Open(string path, StoreSchema schema, TimeSpan? busyTimeout = null, TimeProvider? time = null, ILogger? logger = null, bool groupCommit = false)
    {
        var store = new SqliteStore(path, schema, busyTimeout ?? TimeSpan.FromSeconds(10), time ?? TimeProvider.System, logger ?? NullLogger.Instance, groupCommit);
        _ = store.Connection;
        return store;
    }

    /// <summary>Where a file that must be checked at its next open is recorded.</summary>
    internal static string SuspectMarker(string path) => System.IO.Path.GetFullPath(path) + ".suspect";

    /// <summary>
    /// Group commit: makes every commit so far durable by an fsync (fdatasync on Linux, as SQLite's own) of the
    /// <c>-wal</c> file, outside SQLite's write lock.
    /// <para>
    /// Why this is as durable as <c>synchronous=FULL</c>: with group commit the connection runs with
    /// <c>synchronous=NORMAL</c>, so a commit writes its WAL frames (write(2), into the page cache: a killed process
    /// loses nothing) and releases the write lock without an fsync. This fsync, done before the caller reports the
    /// write as done, makes those frames durable; concurrent writers (other shells) overlap their fsyncs instead of
    /// queuing behind each other's under the lock, and the file system joins overlapping fsyncs into one journal commit.
    /// The handle is opened after this connection opened the file and is dropped whenever the connection is: while a
    /// connection is open SQLite never deletes the WAL (only the last connection to close does), so the handle is the
    /// live WAL. A WAL that was reset meanwhile (a later writer restarting it after a checkpoint) cannot have lost our
    /// frames: a restart needs a complete checkpoint, and a checkpoint fsyncs the WAL before copying frames into the
    /// database and fsyncs the database after (SQLite does both at NORMAL), so our frames are on disk in the database.
    /// SQLite's own checkpoints, migrations and housekeeping commits are made durable by the next flush.
    /// </para>
    /// </summary>
    /// <exception cref="StoreException">The fsync failed (<see cref="StoreFailure.NotFlushed"/>): the write is in the file but maybe not on disk.</exception>
    public void Flush()
    {
        if (!_flushWal)
        {
            return;
        }

        try
        {
            _wal ??= File.OpenHandle(Path + "-wal", FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            SqliteNative.FlushData(_wal);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            MarkSuspect();
            throw StoreException.NotFlushed(Path, ex);
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> in a write transaction taken up front (BEGIN IMMEDIATE: two processes never deadlock
    /// upgrading read locks), commits it, and returns once the commit is on disk (with group commit, by <see cref="Flush"/>
    /// after the write lock is released). Damage is handled as by <see cref="Run{T}"/>: the work may run again.
    /// </summary>
    public T Write<T>(Func<SqliteConnection, SqliteTransaction, T> work)
    {
        var result = Run(connection =>
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            var value = work(connection, transaction);
            transaction.Commit();
            return value;
        });
        Flush();
        return result;
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the connection. Damage met on the way is repaired (the file checked again, and
    /// rescued if it is damaged) and the work run again, at most twice; any other SQLite error becomes a
    /// <see cref="StoreException"/>. The work must be safe to repeat: a transaction that failed was rolled back.
    /// Nested calls leave the repair to the outermost one.
    /// </summary>
    public T Run<T>(Func<SqliteConnection, T> work)
    {
        // Exception filters run before inner finally blocks, so the depth is read once, here.
        var outermost = ++_depth == 1;
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                var connection = Connection;
                try
                {
                    return work(connection);
                }
                catch (SqliteException ex) when (outermost && IsDamage(ex) && attempt < 2)
                {
                    _logger.LogError(ex, "{Path} reported damage while in use", Path);
                    Close();
                    // First look again, checking the whole file (another process may have replaced it already); then
                    // rescue it regardless.
                    _suspect = true;
                    _connection = attempt == 0 ? OpenOrRecover() : Recover(ex.Message, ex);
                }
                catch (SqliteException ex) when (outermost)
                {
                    if (IsDamage(ex) || ex.SqliteErrorCode == SqliteIoError)
                    {
                        MarkSuspect();
                    }

                    throw Diagnose(ex);
                }
            }
        }
        finally
        {
            _depth--;
        }
    }

    public void Dispose()
    {
        _disposed = true;
        Close();
        foreach (var handle in _busyHandlers)
        {
            handle.Free();
        }

        _busyHandlers.Clear();
    }

    private void Close()
    {
        _wal?.Dispose();
        _wal = null;
        _connection?.Dispose();
        _connection = null;
    }

    // Written when SQLite reported damage or an I/O error that was not repaired: the next open checks the whole file.
    private void MarkSuspect()
    {
        try
        {
            File.WriteAllText(SuspectMarker(Path), $"{_time.GetUtcNow():o}\n");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning(ex, "Could not record that {Path} must be checked at its next open", Path);
        }
    }

    // SQLite's default busy handler sleeps 1, 2, 5, 10, 15, 20, 25… ms between tries, while a queue transaction holds the
    // write lock for about 0.1 ms: a waiting writer slept through dozens of free moments, so concurrent shells wrote
    // slower together than one alone. This one yields the processor for the first tries, then sleeps 1 ms at a time.
    // How long a waiting writer naps in short steps before it settles for 1 ms ones.
    private static readonly TimeSpan _shortNaps = TimeSpan.FromMilliseconds(20);

    private bool Busy(int count)
    {
        if (count == 0)
        {
            _busySince = Stopwatch.GetTimestamp();
        }

        if (Stopwatch.GetElapsedTime(_busySince) >= _busyTimeout)
        {
            return false;
        }

        // Another writer holds the lock for the few tens of microseconds of its transaction (its fsync comes after, see
        // Flush): yield first, then nap briefly enough to take the lock soon after it is released; a 1 ms sleep here
        // made four writers slower together than one.
        if (count < 16)
        {
            Thread.Yield();
        }
        else
        {
            SqliteNative.Nap(Stopwatch.GetElapsedTime(_busySince) < _shortNaps ? 50 : 1_000);
        }

        return true;
    }

    private SqliteConnection OpenOrRecover()
    {
        try
        {
            return OpenChecked();
        }
        catch (SqliteException ex) when (IsDamage(ex))
        {
            return Recover(ex.Message, ex);
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            throw Diagnose(ex);
        }
    }

    private SqliteConnection OpenChecked()
    {
        if (Directory.Exists(Path))
        {
            throw StoreException.NotAFile(Path);
        }

        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path) ?? ".");
        var existing = File.Exists(Path) && new FileInfo(Path).Length > 0;
        if (existing)
        {
            CheckHeader();
        }

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = (int)Math.Ceiling(_busyTimeout.TotalSeconds),
        }.ToString());
        try
        {
            connection.Open();
            _busyHandlers.Add(SqliteNative.SetBusyHandler(connection.Handle!, Busy));
            if (existing)
            {
                // Only reads until the file is known to be ours: Isaac never writes into someone else's database.
                CheckIdentity(connection);
            }

            // WAL lets readers and one writer work at once across processes. synchronous=FULL fsyncs the WAL at
            // every commit, so an acknowledged write survives power loss, not only a killed process; with group
            // commit the fsync is Flush's, after the write lock is released (see there).
            var wal = connection.Scalar<string>("PRAGMA journal_mode = WAL;") == "wal";
            _flushWal = wal && _groupCommit;
            connection.Execute(_flushWal ? "PRAGMA synchronous = NORMAL;" : "PRAGMA synchronous = FULL;");
            var marker = SuspectMarker(Path);
            if (existing && (_schema.CheckOnOpen || _suspect || File.Exists(marker)))
            {
                if (connection.Scalar<string>("PRAGMA quick_check;") is not "ok" and var check)
                {
                    _logger.LogError("{Path} failed its integrity check: {Check}", Path, check);
                    throw new SqliteException("its integrity check found damaged pages", SqliteCorrupt);
                }

                _suspect = false;
                File.Delete(marker);
            }

            Migrate(connection);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    // The file header is read directly, so a file that is not SQLite at all, or another program's, is never opened by SQLite.
    private void CheckHeader()
    {
        var header = new byte[100];
        int read;
        using (var file = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            read = file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        }

        if (read < header.Length || !header.AsSpan(0, _magic.Length).SequenceEqual(_magic))
        {
            throw new SqliteException("it is not a SQLite database", SqliteNotADatabase);
        }

        var id = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(68, 4));
        if (id != 0 && id != _schema.ApplicationId)
        {
            throw StoreException.Foreign(Path, _schema.What, StoreSchema.Describe(id));
        }
    }

    // The header may be stale in WAL mode, so the stamp is read again through SQLite. An unstamped file is a new one,
    // or one Isaac made before it stamped its files (recognised by its tables), or not Isaac's.
    private void CheckIdentity(SqliteConnection connection)
    {
        var id = (int)connection.Scalar<long>("PRAGMA application_id;");
        var version = (int)connection.Scalar<long>("PRAGMA user_version;");
        if (id == 0)
        {
            var tables = TableNames(connection);
            var unknown = tables.Except(_schema.Tables.Concat(_schema.Derived), StringComparer.Ordinal).ToList();
            if (tables.Count > 0 || version != 0)
            {
                if (unknown.Count > 0)
                {
                    throw StoreException.Foreign(Path, _schema.What, $"it holds tables that are not Isaac's ({string.Join(", ", unknown.Take(5))})");
                }

                if (!tables.Contains(_schema.Tables[0]))
                {
                    throw StoreException.Foreign(Path, _schema.What, $"it has no '{_schema.Tables[0]}' table");
                }

                _logger.LogInformation("{Path} was made before Isaac stamped its files; adopting it", Path);
            }
        }
        else if (id != _schema.ApplicationId)
        {
            throw StoreException.Foreign(Path, _schema.What, StoreSchema.Describe(id));
        }

        if (version > _schema.Version)
        {
            throw StoreException.Newer(Path, version, _schema.Version);
        }
    }

    // Entry N of the migrations upgrades version N to N+1. Each step runs in its own write transaction that reads the
    // version first, so two processes opening the same new file never run a migration twice. The stamp goes in with it.
    private void Migrate(SqliteConnection connection)
    {
        while (true)
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            var version = (int)connection.Scalar<long>("PRAGMA user_version;", transaction);
            if (version > _schema.Version)
            {
                throw StoreException.Newer(Path, version, _schema.Version);
            }

            if (connection.Scalar<long>("PRAGMA application_id;", transaction) != _schema.ApplicationId)
            {
                connection.Execute($"PRAGMA application_id = {_schema.ApplicationId};", transaction);
            }

            if (version == _schema.Version)
            {
                transaction.Commit();
                return;
            }

            connection.Execute(_schema.Migrations[version], transaction);
            connection.Execute($"PRAGMA user_version = {version + 1};", transaction);
            transaction.Commit();
            _logger.LogInformation("{Path} upgraded to schema version {Version}", Path, version + 1);
        }
    }

    private SqliteConnection Recover(string why, Exception damage)
    {
        why = why.ReplaceLineEndings(" ").TrimEnd('.');
        string aside;
        try
        {
            aside = MoveAside();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw StoreException.Damaged(Path, why, ex);
        }

        SqliteConnection fresh;
        try
        {
            fresh = OpenChecked();
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            throw Diagnose(ex);
        }

        try
        {
            var (kept, total) = Salvage(aside, fresh);
            var name = System.IO.Path.GetFileName(Path);
            var count = total is { } all ? $"kept {kept} of {all} {_schema.Noun}" : $"kept {kept} {_schema.Noun} (how many there were could not be read)";
            RecoveryNotice = $"{name} was damaged ({why}); moved to {aside}; {count}.";
            _suspect = false;
            File.Delete(SuspectMarker(Path));
            _logger.LogError(damage, "{Notice}", RecoveryNotice);
            return fresh;
        }
        catch (SqliteException ex)
        {
            fresh.Dispose();
            throw Diagnose(ex);
        }
    }

    private string MoveAside()
    {
        var stamp = _time.GetUtcNow().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var aside = $"{Path}.corrupt-{stamp}";
        for (var n = 2; File.Exists(aside); n++)
        {
            aside = $"{Path}.corrupt-{stamp}-{n}";
        }

        File.Move(Path, aside);
        foreach (var suffix in new[] { "-wal", "-shm" })
        {
            if (File.Exists(Path + suffix))
            {
                File.Move(Path + suffix, aside + suffix, overwrite: true);
            }
        }

        return aside;
    }

    /// <summary>Copies every readable row of the store's tables from the damaged file into the fresh one; returns the counted rows kept and (when readable) how many there were.</summary>
    private (int Kept, int? Total) Salvage(string damaged, SqliteConnection fresh)
    {
        using var old = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = damaged, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        HashSet<string> tables;
        try
        {
            old.Open();
            tables = TableNames(old);
        }
        catch (SqliteException ex)
        {
            _logger.LogWarning(ex, "Nothing could be read from {Path}", damaged);
            return (0, null);
        }

        var kept = 0;
        int? total = 0;
        using var transaction = fresh.BeginTransaction(deferred: false);
        foreach (var table in _schema.Tables.Where(tables.Contains))
        {
            var copied = CopyRows(old, fresh, transaction, table);
            var had = CountRows(old, table);
            _logger.LogWarning("Salvage of {Path}: table {Table} kept {Kept} of {Total} rows", damaged, table, copied, had?.ToString(CultureInfo.InvariantCulture) ?? "?");
            if (_schema.Counted.Contains(table))
            {
                kept += copied;
                total = total is { } sum && had is { } rows ? sum + Math.Max(rows, copied) : null;
            }
        }

        CopySequences(old, fresh, transaction);
        transaction.Commit();
        total ??= CountFromCounters(old);
        return (kept, total is { } t ? Math.Max(t, kept) : null);
    }

    // Reads in rowid order; where a read fails, finds the next rowid from which reading works again, so only the rows
    // on damaged pages are lost. A damaged page can still read as rows with nonsense rowids (which would make the
    // search skip good pages, or take the place of the real row): a row is kept only if looking its rowid up through
    // the b-tree finds the same row, and only such rows move the resume point.
    private static int CopyRows(SqliteConnection old, SqliteConnection fresh, SqliteTransaction transaction, string table)
    {
        var (freshColumns, alias) = Columns(fresh, transaction, table);
        var (oldColumns, _) = Columns(old, null, table);
        var columns = freshColumns.Where(c => c != alias && oldColumns.Contains(c)).ToList();
        var list = string.Concat(columns.Select(c => $", {Quote(c)}"));
        var select = $"SELECT rowid{list} FROM {Quote(table)} WHERE rowid > $after ORDER BY rowid";
        using var lookup = old.Command($"SELECT rowid{list} FROM {Quote(table)} WHERE rowid = $rowid;", null, ("$rowid", 0L));
        using var insert = fresh.Command($"INSERT INTO {Quote(table)} (rowid{list}) VALUES ({string.Join(", ", Enumerable.Range(0, columns.Count + 1).Select(i => $"$p{i}"))});",
            transaction, [.. Enumerable.Range(0, columns.Count + 1).Select(i => ($"$p{i}", (object?)null))]);

        var kept = 0;
        Int128 confirmed = long.MinValue;
        Int128 resume = long.MinValue;
        var budget = new Budget(); // badly damaged files must still end in seconds, not hours
        while (budget.Take(1))
        {
            try
            {
                using var command = old.Command(select, null, ("$after", (long)resume));
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    var values = new object[reader.FieldCount];
                    reader.GetValues(values);
                    if (!Confirmed(lookup, values))
                    {
                        continue;
                    }

                    for (var i = 0; i < values.Length; i++)
                    {
                        insert.Parameters[i].Value = values[i];
                    }

                    kept += Insert(insert);
                    confirmed = (long)values[0];
                }

                return kept;
            }
            catch (SqliteException)
            {
                // Never search from behind the last resume point, so every pass gets further.
                var from = Int128.Max(confirmed, resume);
                if (NextReadable(old, select + " LIMIT 1", from, budget) is not { } next)
                {
                    return kept;
                }

                // Damaged pages can mislead a range seek past rows that a lookup by rowid still finds: look up each
                // rowid of the skipped gap (up to a bound, for ids that are far apart).
                for (var rowid = Int128.Max(from + 1, next - 1024); rowid <= next && budget.Take(1); rowid++)
                {
                    kept += CopyOne(lookup, insert, (long)rowid);
                }

                resume = next;
            }
        }

        return kept;
    }

    private static int CopyOne(SqliteCommand lookup, SqliteCommand insert, long rowid)
    {
        object[] values;
        try
        {
            lookup.Parameters[0].Value = rowid;
            using var reader = lookup.ExecuteReader();
            if (!reader.Read())
            {
                return 0;
            }

            values = new object[reader.FieldCount];
            reader.GetValues(values);
        }
        catch (SqliteException)
        {
            return 0;
        }

        for (var i = 0; i < values.Length; i++)
        {
            insert.Parameters[i].Value = values[i];
        }

        return Insert(insert);
    }

    private static bool Confirmed(SqliteCommand lookup, object[] values)
    {
        try
        {
            lookup.Parameters[0].Value = values[0];
            using var reader = lookup.ExecuteReader();
            if (!reader.Read())
            {
                return false;
            }

            var found = new object[reader.FieldCount];
            reader.GetValues(found);
            return found.SequenceEqual(values, StructuralEqualityComparer.Instance);
        }
        catch (SqliteException)
        {
            return false;
        }
    }

    /// <summary>How many reads one table's salvage may still spend on finding its way around damage.</summary>
    private sealed class Budget
    {
        private int _left = 200_000;

        public bool Take(int reads)
        {
            _left -= reads;
            return _left >= 0;
        }
    }

    private sealed class StructuralEqualityComparer : IEqualityComparer<object>
    {
        public static StructuralEqualityComparer Instance { get; } = new();

        public new bool Equals(object? x, object? y) => System.Collections.StructuralComparisons.StructuralEqualityComparer.Equals(x, y);

        public int GetHashCode(object obj) => System.Collections.StructuralComparisons.StructuralEqualityComparer.GetHashCode(obj);
    }

    private static int Insert(SqliteCommand insert)
    {
        try
        {
            return insert.ExecuteNonQuery();
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is SqliteConstraint or SqliteMismatch)
        {
            return 0; // a row damaged into nonsense (a NULL, a broken status) is not kept
        }
    }

    // The smallest x > failed from which "the first row after x" reads without error: grow the step until a read
    // works, then halve back to the boundary. Reading fails for every x before the last rowid of a damaged page and
    // works from there on, so this skips that page and nothing else. Null when nothing after it can be read.
    private static Int128? NextReadable(SqliteConnection old, string selectFirst, Int128 failed, Budget budget)
    {
        var works = (Int128 after) =>
        {
            if (!budget.Take(1))
            {
                return true; // out of budget: stop searching and go on from here
            }

            try
            {
                using var command = old.Command(selectFirst, null, ("$after", (long)after));
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    reader.GetValues(new object[reader.FieldCount]);
                }

                return true;
            }
            catch (SqliteException)
            {
                return false;
            }
        };

        var low = failed;
        Int128 step = 1;
        Int128 high;
        while (true)
        {
            high = Int128.Min(failed + step, long.MaxValue);
            if (works(high))
            {
                break;
            }

            if (high == long.MaxValue)
            {
                return null;
            }

            low = high;
            step *= 2;
        }

        while (high - low > 1)
        {
            var middle = low + ((high - low) / 2);
            if (works(middle))
            {
                high = middle;
            }
            else
            {
                low = middle;
            }
        }

        return high;
    }

    // COUNT(*) walks the smallest b-tree; when that one is damaged another index (or the table itself) may still count.
    private int? CountFromCounters(SqliteConnection old)
    {
        try
        {
            return _schema.TotalSql is { } sql ? (int)old.Scalar<long>(sql) : null;
        }
        catch (SqliteException)
        {
            return null; // the counters are damaged too
        }
    }

    private static int? CountRows(SqliteConnection old, string table)
    {
        var indexes = new List<string> { "", " NOT INDEXED" };
        try
        {
            using var command = old.Command("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = $table;", null, ("$table", table));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                indexes.Add($" INDEXED BY {Quote(reader.GetString(0))}");
            }
        }
        catch (SqliteException)
        {
            // The table's own b-tree may still count.
        }

        foreach (var index in indexes)
        {
            try
            {
                return (int)old.Scalar<long>($"SELECT COUNT(*) FROM {Quote(table)}{index};");
            }
            catch (SqliteException)
            {
                // Damaged (or a partial index): try the next.
            }
        }

        return null;
    }

    // AUTOINCREMENT counters, so an id handed out before the damage is not handed out again.
    private static void CopySequences(SqliteConnection old, SqliteConnection fresh, SqliteTransaction transaction)
    {
        var sequences = new List<(string Name, long Seq)>();
        try
        {
            using var command = old.Command("SELECT name, seq FROM sqlite_sequence;", null);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                sequences.Add((reader.GetString(0), reader.GetInt64(1)));
            }
        }
        catch (SqliteException)
        {
            return; // none, or unreadable: the copied rows set the counters
        }

        foreach (var (name, seq) in sequences)
        {
            if (fresh.Execute("UPDATE sqlite_sequence SET seq = MAX(seq, $seq) WHERE name = $name;", transaction, ("$name", name), ("$seq", seq)) == 0)
            {
                fresh.Execute("INSERT INTO sqlite_sequence (name, seq) SELECT $name, $seq WHERE EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $name);",
                    transaction, ("$name", name), ("$seq", seq));
            }
        }
    }

    private static (List<string> Names, string? RowidAlias) Columns(SqliteConnection connection, SqliteTransaction? transaction, string table)
    {
        var names = new List<string>();
        var keys = new List<(string Name, string Type)>();
        using var command = connection.Command($"PRAGMA table_info({Quote(table)});", transaction);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            names.Add(reader.GetString(1));
            if (reader.GetInt64(5) > 0)
            {
                keys.Add((reader.GetString(1), reader.GetString(2)));
            }
        }

        return (names, keys is [{ Type: var type } key] && type.Equals("INTEGER", StringComparison.OrdinalIgnoreCase) ? key.Name : null);
    }

    private static HashSet<string> TableNames(SqliteConnection connection)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var command = connection.Command("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\';", null);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    private static string Quote(string name) => $"\"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    private static bool IsDamage(SqliteException ex) => ex.SqliteErrorCode is SqliteCorrupt or SqliteNotADatabase;

    // SQLite's codes say little about the cause (a read-only folder shows as "unable to open" or "readonly"), so the
    // file system is asked what is wrong.
    private StoreException Diagnose(Exception ex)
    {
        var code = (ex as SqliteException)?.SqliteErrorCode;
        var folder = System.IO.Path.GetDirectoryName(Path) ?? ".";
        return ex switch
        {
            StoreException store => store,
            SqliteException sqlite when IsDamage(sqlite) => StoreException.Damaged(Path, sqlite.Message.TrimEnd('.'), ex),
            _ when code == SqliteFull || ex is IOException { HResult: NoSpaceLeft } => StoreException.DiskFull(Path, ex),
            _ when code is SqliteBusy or SqliteLocked => StoreException.Busy(Path, ex),
            _ when Directory.Exists(Path) => StoreException.NotAFile(Path),
            _ when File.Exists(Path) && !CanOpen(FileAccess.Read) => StoreException.PermissionDenied(Path, ex),
            _ when File.Exists(Path) && !CanOpen(FileAccess.ReadWrite) => StoreException.ReadOnly(Path, ex),
            _ when !Directory.Exists(folder) => StoreException.PermissionDenied(Path, ex),
            _ when !CanCreateIn(folder) => StoreException.ReadOnlyFolder(Path, ex),
            _ when code == SqliteReadOnly => StoreException.ReadOnly(Path, ex),
            _ when code == SqlitePerm || ex is UnauthorizedAccessException => StoreException.PermissionDenied(Path, ex),
            _ => StoreException.Other(Path, ex is SqliteException sqlite ? sqlite.Message.Replace("SQLite Error ", "SQLite error ", StringComparison.Ordinal) : ex.Message, ex),
        };
    }

    private bool CanOpen(FileAccess access)
    {
        try
        {
            using var file = new FileStream(Path, FileMode.Open, access, FileShare.ReadWrite | FileShare.Delete);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static bool CanCreateIn(string folder)
    {
        try
        {
            using var probe = new FileStream(System.IO.Path.Combine(folder, $".isaac-probe-{Guid.NewGuid():N}"), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
