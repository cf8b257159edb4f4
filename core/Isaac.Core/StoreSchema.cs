namespace Isaac.Core;

/// <summary>
/// What Isaac knows about one kind of its SQLite files: how to recognise it (<c>PRAGMA application_id</c>), how to
/// create and upgrade it (<c>PRAGMA user_version</c> counts the migrations applied) and which tables to salvage
/// when it is damaged. <see cref="SqliteStore"/> does the work, the same way for every store.
/// </summary>
public sealed record StoreSchema
{
    /// <summary>Stamped into <c>application_id</c> of every file Isaac creates: queue.db is "ISAQ".</summary>
    public const int QueueId = 0x49534151;

    /// <summary>agent.db is "ISAA".</summary>
    public const int AgentId = 0x49534141;

    /// <summary>hub.db is "ISAH".</summary>
    public const int HubId = 0x49534148;

    /// <summary>How messages name the store: "queue", "agent", "hub".</summary>
    public required string What { get; init; }

    /// <summary>This store's <c>PRAGMA application_id</c>.</summary>
    public required int ApplicationId { get; init; }

    /// <summary>One entry per schema version; entry N upgrades version N to N+1. Never edit a shipped entry.</summary>
    public required IReadOnlyList<string> Migrations { get; init; }

    /// <summary>
    /// Every table the store has, in the order a salvage copies them. The first one identifies a file made before
    /// files were stamped: an unstamped file with it and no table outside this list is adopted (and stamped).
    /// </summary>
    public required IReadOnlyList<string> Tables { get; init; }

    /// <summary>
    /// Tables whose rows the store's triggers derive from the other tables (counters): recognised as the store's own,
    /// never copied by a salvage (the copied rows rebuild them). The default is none.
    /// </summary>
    public IReadOnlyList<string> Derived { get; init; } = [];

    /// <summary>The tables whose rows the salvage report counts ("kept N of M commands").</summary>
    public required IReadOnlyList<string> Counted { get; init; }

    /// <summary>
    /// A query for how many counted rows there were, from the <see cref="Derived"/> counters: asked by a salvage when
    /// the damaged tables themselves cannot be counted (their pages, and no full index to count by). Null: none.
    /// </summary>
    public string? TotalSql { get; init; }

    /// <summary>What the counted rows are called in the salvage report: "commands", "assignments".</summary>
    public required string Noun { get; init; }

    /// <summary>
    /// Run <c>PRAGMA quick_check</c> every time the file is opened. The default is true: agent.db and hub.db are opened
    /// once by long-lived processes. queue.db, opened by every <c>isaac -c</c>, sets it false and is checked only when
    /// something is suspect (see <see cref="SqliteStore"/>).
    /// </summary>
    public bool CheckOnOpen { get; init; } = true;

    /// <summary>The schema version this build writes.</summary>
    public int Version => Migrations.Count;

    internal static string Describe(int applicationId) => applicationId switch
    {
        QueueId => "it is Isaac's queue database (queue.db)",
        AgentId => "it is Isaac's agent database (agent.db)",
        HubId => "it is Isaac's hub database (hub.db)",
        _ => $"it belongs to another program (application_id 0x{applicationId:X8})",
    };
}
