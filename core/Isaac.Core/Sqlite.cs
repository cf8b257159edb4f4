using System.Runtime.CompilerServices;
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

    /// <summary>
    /// A statement prepared once per connection and kept for its lifetime, with <paramref name="parameters"/> set: for the
    /// hot paths (an enqueue), where preparing the SQL costs as much as running it. Only for constant SQL (the cache is
    /// keyed by the text); the caller must not dispose it. Closing the connection finalises the statements.
    /// </summary>
    public static SqliteCommand Prepared(this SqliteConnection connection, string sql, SqliteTransaction? transaction, params (string Name, object? Value)[] parameters)
    {
        var statements = _prepared.GetValue(connection, _ => new Dictionary<string, SqliteCommand>(StringComparer.Ordinal));
        if (!statements.TryGetValue(sql, out var command))
        {
            command = connection.Command(sql, transaction, parameters);
            command.Prepare();
            statements.Add(sql, command);
        }

        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            command.Parameters[name].Value = value ?? DBNull.Value;
        }

        return command;
    }

    private static readonly ConditionalWeakTable<SqliteConnection, Dictionary<string, SqliteCommand>> _prepared = [];

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
}
