namespace Isaac.Hub;

/// <summary>Opens the store <see cref="HubOptions"/> names: PostgreSQL when <see cref="HubOptions.Store"/> is set, else hub.db in the data folder.</summary>
public static class HubStores
{
    public static IHubStore Open(HubOptions options, TimeProvider? time = null) =>
        options.Store is { Length: > 0 } connection
            ? new PostgresHubStore(connection, time)
            : new HubStore(options.DataDirectory, time);
}
