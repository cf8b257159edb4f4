using Isaac.Core.Wire;

namespace Isaac.Hub;

/// <summary>
/// The hub's state, whatever keeps it: <see cref="HubStore"/> (one SQLite file, the embedded default, one hub) or
/// <see cref="PostgresHubStore"/> (one PostgreSQL database that any number of hubs share). Both run the same
/// behaviour tests; <see cref="HubStores.Open"/> picks one from <see cref="HubOptions"/>.
/// </summary>
public interface IHubStore : IDisposable
{
    /// <summary>Set when the store was damaged and has been replaced: where the old one went and what was kept.</summary>
    string? RecoveryNotice { get; }

    /// <summary>Registers a device under its canonical (lower-case) name and returns its token; only the token's hash is stored.</summary>
    string AddDevice(string name, bool replace);

    /// <summary>The device a bearer token belongs to, or null.</summary>
    string? Authenticate(string token);

    bool DeviceExists(string name);

    /// <summary>Every registered device with its last-seen time and how much of its work waits or is in flight; <see cref="DeviceRecord.Online"/> is left to the caller.</summary>
    IReadOnlyList<DeviceRecord> Devices();

    void Touch(string device);

    /// <summary>Stores a new routed command, or returns the first one stored with the same sender and unique key.</summary>
    (CommandRecord Record, bool Repeated) Create(string sender, RouteBody body);

    /// <summary><see cref="Create"/> for many commands in one transaction.</summary>
    IReadOnlyList<(CommandRecord Record, bool Repeated)> CreateMany(string sender, IReadOnlyList<RouteBody> bodies);

    CommandRecord? Get(string id);

    /// <summary>The records among <paramref name="ids"/> that exist, in one read.</summary>
    IReadOnlyList<CommandRecord> GetMany(IReadOnlyList<string> ids);

    /// <summary>The device's next commands not yet taken by it (accepted or assigned) after <paramref name="afterSeq"/>, oldest first.</summary>
    IReadOnlyList<CommandRecord> NextWaiting(string target, long afterSeq, int limit);

    /// <summary>Ids of the commands some agent of the device stored and has not finished (device_accepted or running).</summary>
    IReadOnlyList<string> Working(string target);

    /// <summary>Marks commands handed to the device's agent as assigned, in one transaction.</summary>
    void Assign(string target, IReadOnlyList<string> ids);

    /// <summary>Applies what an agent reported in ONE transaction, in order; returns the ids whose record changed.</summary>
    IReadOnlyList<string> Apply(string target, IReadOnlyList<AgentMessage> reports);

    void AppendHistory(string device, string text);

    /// <summary>The last <paramref name="limit"/> history entries, oldest first.</summary>
    IReadOnlyList<HistoryEntry> History(int limit);

    /// <summary>
    /// Takes the device's presence lease for hub <paramref name="node"/> until <paramref name="expires"/>: true when
    /// no other hub holds an unexpired one. This is what keeps one agent per device across hubs.
    /// </summary>
    bool TryLease(string device, string node, DateTimeOffset expires, DateTimeOffset now);

    /// <summary>Extends every lease <paramref name="node"/> holds; returns the devices it still holds (a lease taken over after expiry is gone).</summary>
    IReadOnlySet<string> Renew(string node, DateTimeOffset expires);

    /// <summary>Gives the device's lease up if <paramref name="node"/> holds it.</summary>
    void Release(string device, string node);

    /// <summary>Whether some hub holds an unexpired lease on the device.</summary>
    bool IsLeased(string device, DateTimeOffset now);

    /// <summary>Devices leased to <paramref name="node"/> with commands waiting to be assigned: the polling fallback behind <see cref="ListenAsync"/>.</summary>
    IReadOnlyList<string> Waiting(string node);

    /// <summary>
    /// Reports what other hubs changed, as hints (<see cref="HubSignal"/>), until cancelled. A hint may be lost (a
    /// dropped connection); callers poll <see cref="Waiting"/> too, so a lost hint costs latency, never a command.
    /// </summary>
    Task ListenAsync(Action<HubSignal> signal, CancellationToken cancellationToken);
}

/// <summary>A hint from another hub: new work for a device, or a command whose record changed.</summary>
public sealed record HubSignal
{
    /// <summary>A device with new work (set) or null.</summary>
    public string? Device { get; init; }

    /// <summary>A command whose record changed (set) or null.</summary>
    public string? Command { get; init; }
}
