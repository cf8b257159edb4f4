using Microsoft.Data.Sqlite;

namespace Isaac.Core;

/// <summary>Parameterised SQL on a connection: the one way Isaac's stores talk to SQLite.</summary>
public static class Sqlite
{
    public static SqliteCommand Command(this SqliteConnection connection, string sql, SqliteTransaction? transaction, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    public static int Execute(this SqliteConnection connection, string sql, SqliteTransaction? transaction = null, params (string Name, object? Value)[] parameters)
    {
        using var command = connection.Command(sql, transaction, parameters);
        return command.ExecuteNonQuery();
    }

    public static T? Scalar<T>(this SqliteConnection connection, string sql, SqliteTransaction? transaction = null, params (string Name, object? Value)[] parameters)
    {
        using var command = connection.Command(sql, transaction, parameters);
        var value = command.ExecuteScalar();
        return value is null or DBNull ? default : (T)value;
    }

    /// <summary>
    /// Brings the file's schema up to date: entry N of <paramref name="migrations"/> upgrades version N to N+1
    /// (<c>PRAGMA user_version</c>). Each step runs in its own write transaction that reads the version first, so two
    /// processes opening the same new file never run a migration twice. A file newer than this build is refused with
    /// the exception <paramref name="newer"/> makes from its version. Returns the versions reached by this call.
    /// </summary>
    public static IReadOnlyList<int> Migrate(this SqliteConnection connection, IReadOnlyList<string> migrations, Func<int, Exception> newer)
    {
        var reached = new List<int>();
        while (true)
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            var version = (int)connection.Scalar<long>("PRAGMA user_version;", transaction);
            if (version > migrations.Count)
            {
                throw newer(version);
            }

            if (version == migrations.Count)
            {
                transaction.Commit();
                return reached;
            }

            connection.Execute(migrations[version], transaction);
            connection.Execute($"PRAGMA user_version = {version + 1};", transaction);
            transaction.Commit();
            reached.Add(version + 1);
        }
    }
}
