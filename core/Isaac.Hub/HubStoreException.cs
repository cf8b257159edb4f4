using Isaac.Core;

namespace Isaac.Hub;

/// <summary>The hub's PostgreSQL store could not be used, or a migration between stores failed; the message is one line for the person.</summary>
public sealed class HubStoreException : IsaacException
{
    private HubStoreException(string message, Exception? inner = null) : base(message, inner)
    {
    }

    internal static HubStoreException Newer(string where, int found, int known) =>
        new($"The hub store {where} has schema version {found}, but this Isaac knows only up to {known}. Upgrade Isaac on every hub that shares it.");

    internal static HubStoreException Foreign(string where, string what) =>
        new($"The database {where} holds another Isaac store ('{what}'), not a hub's; point --store at a database of its own.");

    internal static HubStoreException Unreachable(string where, Exception inner) =>
        new($"The hub store {where} cannot be used: {inner.Message.Split('\n')[0].TrimEnd('.')}. Check the connection string (--store or store: in the hub's config) and that PostgreSQL is running.", inner);

    internal static HubStoreException NotEmpty(string where, long commands) =>
        new($"The hub store {where} already holds {commands} routed commands; migrate only into an empty database.");

    internal static HubStoreException CountsDiffer(string table, long from, long to) =>
        new($"Migration check failed: '{table}' has {from} rows in the SQLite store but {to} in PostgreSQL; nothing was committed.");
}
