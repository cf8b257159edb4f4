using System.Text.Json.Serialization;
using Isaac.Plugins;

namespace Isaac.Core.Hub;

/// <summary>POST /v1/commands: run <see cref="Text"/> on <see cref="Target"/>.</summary>
internal sealed record RouteBody
{
    public required string Target { get; init; }
    public required string Text { get; init; }
    public required string UniqueKey { get; init; }
}

/// <summary>The hub's record of one routed command.</summary>
internal sealed record CommandRecord
{
    public required string Id { get; init; }
    public required string Sender { get; init; }
    public required string Target { get; init; }
    public required string Text { get; init; }
    public required string UniqueKey { get; init; }
    public required string Status { get; init; }
    public CommandResponse? Result { get; init; }
    public string? Error { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
    public bool TargetOnline { get; init; }

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
    };
}

/// <summary>Statuses of a routed command, in the order they happen (DESIGN §6).</summary>
internal static class RoutedStatus
{
    public const string Accepted = "accepted";
    public const string Assigned = "assigned";
    public const string DeviceAccepted = "device_accepted";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Rejected = "rejected";

    public static bool IsFinal(string status) => status is Completed or Failed or Rejected;
}

/// <summary>One message on the agent WebSocket, either way. Which fields are set depends on <see cref="Type"/>.</summary>
internal sealed record AgentMessage
{
    // hub → agent: assign, ack, pong. agent → hub: hello, accepted, rejected, running, completed, failed, ping.
    public required string Type { get; init; }
    public string? Id { get; init; }
    public string? Text { get; init; }
    public string? Sender { get; init; }
    public int? Capacity { get; init; }
    public CommandResponse? Result { get; init; }
    public string? Reason { get; init; }

    /// <summary>In hello: the assignments the agent holds and has not finished, so the hub knows they take its capacity.</summary>
    public IReadOnlyList<string>? Holding { get; init; }
}

/// <summary>An entry of the shared command history.</summary>
internal sealed record HistoryEntry
{
    public required string Device { get; init; }
    public required string Text { get; init; }
    public DateTimeOffset At { get; init; }
}

/// <summary>POST /v1/meta: a meta-command the hub itself answers (for example /devices).</summary>
internal sealed record MetaBody
{
    public required string Text { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
[JsonSerializable(typeof(RouteBody))]
[JsonSerializable(typeof(RouteBody[]))]
[JsonSerializable(typeof(CommandRecord))]
[JsonSerializable(typeof(CommandRecord[]))]
[JsonSerializable(typeof(AgentMessage))]
[JsonSerializable(typeof(HistoryEntry))]
[JsonSerializable(typeof(HistoryEntry[]))]
[JsonSerializable(typeof(MetaBody))]
[JsonSerializable(typeof(CommandResponse))]
internal sealed partial class HubJson : JsonSerializerContext;
