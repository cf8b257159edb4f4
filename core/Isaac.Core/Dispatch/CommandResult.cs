using System.Text.Json.Serialization;
using Isaac.Plugins;

namespace Isaac.Core.Dispatch;

/// <summary>What the shell shows for one line: a handler's response, or the typed error that replaced it.</summary>
public sealed record CommandResult
{
    [JsonPropertyName("command")]
    public string? Command { get; init; }

    [JsonPropertyName("status")]
    public string Status { get; init; } = ResponseStatus.Success;

    [JsonPropertyName("stdout")]
    public string Stdout { get; init; } = "";

    [JsonPropertyName("stderr")]
    public string Stderr { get; init; } = "";

    [JsonPropertyName("kind")]
    public string Kind { get; init; } = "text";

    [JsonPropertyName("meta")]
    public IReadOnlyDictionary<string, string> Meta { get; init; } = new Dictionary<string, string>();

    [JsonPropertyName("table")]
    public ResponseTable? Table { get; init; }

    [JsonPropertyName("exit_code")]
    public int ExitCode { get; init; }

    [JsonPropertyName("error")]
    public ErrorCode? Error { get; init; }

    [JsonIgnore]
    public bool Succeeded => Status == ResponseStatus.Success;

    /// <summary>Set instead of a result for a task command routed here: checked and bound, for the agent to wake (docs/tasks.md).</summary>
    [JsonIgnore]
    internal TaskStart? Task { get; init; }

    /// <summary>Where the answer was produced: here, or on another device (the result of a <c>!device</c> route).</summary>
    [JsonIgnore]
    public CommandOrigin Origin { get; init; } = CommandOrigin.Local;

    /// <summary>
    /// The line to run if the person says yes (kind <c>confirm</c>, meta <c>confirm</c>; docs/protocol.md), or null. Always
    /// null for another device's answer: nothing a remote device says may run a command on this one.
    /// </summary>
    [JsonIgnore]
    public string? Confirmation => Origin.IsLocal && Kind == "confirm" ? Meta.GetValueOrDefault("confirm") : null;

    /// <summary>The error's stable name, for example <c>TIMEOUT</c>; null on success.</summary>
    [JsonIgnore]
    public string? ErrorName => Error?.ToWire();

    /// <summary>The result as the indented JSON <c>isaac -c --json</c> prints (stable snake_case names).</summary>
    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(this, Internal.IsaacJson.Readable.CommandResult);

    internal static CommandResult From(string command, CommandResponse response, CommandOrigin origin)
    {
        var failed = response.Status == ResponseStatus.Error;
        return new CommandResult
        {
            Origin = origin,
            Command = command,
            Status = failed ? ResponseStatus.Error : ResponseStatus.Success,
            Stdout = response.Stdout,
            Stderr = response.Stderr,
            Kind = response.Kind,
            Meta = response.Meta,
            Table = response.Table,
            ExitCode = response.ExitCode ?? (failed ? 1 : 0),
            // A result relayed from another device keeps the error its own dispatcher gave it.
            Error = failed ? ErrorCodes.FromWire(response.Meta.GetValueOrDefault("error")) ?? ErrorCode.HandlerFailed : null,
        };
    }

    internal static CommandResult Failure(string? command, ErrorCode error, string message, string stdout = "", int? exitCode = null) => new()
    {
        Command = command,
        Status = ResponseStatus.Error,
        Stdout = stdout,
        Stderr = message,
        ExitCode = exitCode is { } code && code != 0 ? code : error.ExitStatus(),
        Error = error,
    };
}

/// <summary>A routed task command that passed the tier policy and argument checks: what the agent needs to wake it.</summary>
internal sealed record TaskStart(Manifests.LoadedCommand Command, CommandRequest Request);
