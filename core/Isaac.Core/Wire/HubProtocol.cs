using System.Text.Json.Serialization;
using Isaac.Plugins;

namespace Isaac.Core.Wire;

/// <summary>POST /v1/commands: run <see cref="Text"/> on <see cref="Target"/>.</summary>
public sealed record RouteBody
{
    public required string Target { get; init; }
    public required string Text { get; init; }
    public required string UniqueKey { get; init; }

    /// <summary>May run alongside neighbouring parallel commands on the device; otherwise it is a barrier that runs alone. Decided by the sender's manifest; the default is false.</summary>
    public bool Parallel { get; init; }
}

/// <summary>The hub's record of one routed command.</summary>
public sealed record CommandRecord
{
    public required string Id { get; init; }
    public required string Sender { get; init; }
    public required string Target { get; init; }
    public required string Text { get; init; }
    public required string UniqueKey { get; init; }
    public required string Status { get; init; }

    /// <summary>The hub's sequence number: the order in which the target device must run its commands.</summary>
    public long Seq { get; init; }

    public bool Parallel { get; init; }
    public CommandResponse? Result { get; init; }
    public string? Error { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
    public bool TargetOnline { get; init; }

    /// <summary>A task's lifecycle phase while it runs (<see cref="TaskPhase"/>); null for every other command. <see cref="UpdatedAt"/> is when it began.</summary>
    public string? Phase { get; init; }

    /// <summary>True when the hub had this unique key already and returned the first record.</summary>
    public bool Repeated { get; init; }

    public RoutedCommand ToRouted() => new()
    {
        Id = Id,
        Target = Target,
        Text = Text,
        Status = Status,
        TargetOnline = TargetOnline,
        Result = Result,
        Error = Error,
        Phase = Phase,
        Since = UpdatedAt,
    };
}

/// <summary>
/// Where a task command is while it runs (docs/tasks.md): its agent wakes it, waits for its confirmation, then watches
/// for its result. Reported in a <c>running</c> message's <see cref="AgentMessage.Phase"/>; the status stays running.
/// </summary>
public static class TaskPhase
{
    public const string Waking = "waking";
    public const string Confirming = "waking_confirmation";
    public const string Working = "working";

    public static bool IsKnown(string? phase) => phase is Waking or Confirming or Working;
}

/// <summary>Statuses of a routed command, in the order they happen (DESIGN §6).</summary>
public static class RoutedStatus
{
    public const string Accepted = "accepted";
    public const string Assigned = "assigned";
    public const string DeviceAccepted = "device_accepted";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Rejected = "rejected";

    /// <summary>It was running when its agent died: it may or may not have had its effect, and is never re-run by itself.</summary>
    public const string InDoubt = "in_doubt";

    public static bool IsFinal(string status) => status is Completed or Failed or Rejected or InDoubt;
}

/// <summary>One message on the agent WebSocket, either way. Which fields are set depends on <see cref="Type"/>.</summary>
public sealed record AgentMessage
{
    // hub → agent: assign, ack, pong. agent → hub: hello, accepted, rejected, running, completed, failed, in_doubt, ping.
    // docs/hub-protocol.md and schemas/hub/agent-message.schema.json are the contract.
    public required string Type { get; init; }
    public string? Id { get; init; }
    public string? Text { get; init; }
    public string? Sender { get; init; }

    /// <summary>In assign: the hub's sequence number; the agent runs its commands in this order.</summary>
    public long? Seq { get; init; }

    /// <summary>In assign: may overlap with neighbouring parallel commands; otherwise a barrier.</summary>
    public bool? Parallel { get; init; }

    /// <summary>In hello: how many parallel commands the agent runs at once.</summary>
    public int? Capacity { get; init; }

    /// <summary>In hello: how many unfinished commands the hub may hand the agent at once (they wait their turn at the agent). The default is the capacity.</summary>
    public int? Window { get; init; }

    /// <summary>In hello: the agent pings at least this often; silent for twice this long, it is offline. The default is 5000.</summary>
    public int? HeartbeatMs { get; init; }
    public CommandResponse? Result { get; init; }
    public string? Reason { get; init; }

    /// <summary>In running, for a task: the phase it entered (<see cref="TaskPhase"/>). A hub that predates tasks ignores it.</summary>
    public string? Phase { get; init; }

    /// <summary>In hello: the assignments the agent holds and has not finished, so the hub knows they take its capacity.</summary>
    public IReadOnlyList<string>? Holding { get; init; }

    /// <summary>In hello and welcome: the agent protocol version the sender speaks (<see cref="AgentProtocol"/>); absent means 1.</summary>
    public int? Version { get; init; }

    /// <summary>In assign_batch (version 2): consecutive assignments in sequence order, each shaped like an assign.</summary>
    public IReadOnlyList<AgentMessage>? Commands { get; init; }

    /// <summary>In report (version 2): several accepted, rejected, running, completed, failed or in_doubt messages, applied in order, at once.</summary>
    public IReadOnlyList<AgentMessage>? Reports { get; init; }

    /// <summary>In ack_batch (version 2): the results the hub has stored.</summary>
    public IReadOnlyList<string>? Ids { get; init; }
}

/// <summary>Versions of the agent WebSocket protocol (docs/hub-protocol.md).</summary>
public static class AgentProtocol
{
    /// <summary>One message per assignment, report and ack: every hub and agent speaks it.</summary>
    public const int Single = 1;

    /// <summary>Adds assign_batch, report, ack_batch and welcome, so a backlog moves in a few messages and transactions.</summary>
    public const int Batched = 2;

    /// <summary>The newest version this build speaks.</summary>
    public const int Current = Batched;

    /// <summary>Most entries in one assign_batch or report.</summary>
    public const int MaxBatch = 1024;
}

/// <summary>POST /v1/commands/results: the final records among <see cref="Ids"/>, waiting up to <see cref="WaitMs"/> for the first.</summary>
public sealed record ResultsQuery
{
    public required IReadOnlyList<string> Ids { get; init; }

    /// <summary>How long to wait (at most 60000) when none is final yet. The default is 0.</summary>
    public int WaitMs { get; init; }
}

/// <summary>An entry of the shared command history.</summary>
public sealed record HistoryEntry
{
    public required string Device { get; init; }
    public required string Text { get; init; }
    public DateTimeOffset At { get; init; }
}

/// <summary>GET /v1/devices: one registered device as the hub sees it.</summary>
public sealed record DeviceRecord
{
    public required string Name { get; init; }

    /// <summary>An agent for this device holds the hub's lease right now.</summary>
    public bool Online { get; init; }

    /// <summary>When the hub last heard from the device; null if it never connected.</summary>
    public DateTimeOffset? LastSeen { get; init; }

    /// <summary>Commands waiting at the hub for the device (accepted or assigned).</summary>
    public int Queued { get; init; }

    /// <summary>Commands the device has taken and not finished (device_accepted or running).</summary>
    public int InFlight { get; init; }

    /// <summary>Task commands among <see cref="InFlight"/> in one of their phases (docs/tasks.md).</summary>
    public int Tasks { get; init; }

    /// <summary>When the oldest of those tasks entered its current phase; null without tasks.</summary>
    public DateTimeOffset? OldestTaskSince { get; init; }
}

/// <summary>The hub's last device list, kept by a sender for when the hub cannot be reached (not on the wire).</summary>
public sealed record KnownDevices
{
    public required DateTimeOffset At { get; init; }
    public IReadOnlyList<DeviceRecord> Devices { get; init; } = [];
}

/// <summary>POST /v1/meta: a meta-command the hub itself answers (for example /devices).</summary>
public sealed record MetaBody
{
    public required string Text { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    MaxDepth = WireJson.MaxDepth)]
[JsonSerializable(typeof(RouteBody))]
[JsonSerializable(typeof(RouteBody[]))]
[JsonSerializable(typeof(CommandRecord))]
[JsonSerializable(typeof(CommandRecord[]))]
[JsonSerializable(typeof(AgentMessage))]
[JsonSerializable(typeof(HistoryEntry))]
[JsonSerializable(typeof(HistoryEntry[]))]
[JsonSerializable(typeof(MetaBody))]
[JsonSerializable(typeof(ResultsQuery))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(DeviceRecord))]
[JsonSerializable(typeof(DeviceRecord[]))]
[JsonSerializable(typeof(KnownDevices))]
[JsonSerializable(typeof(CommandResponse))]
public sealed partial class HubJson : JsonSerializerContext;
