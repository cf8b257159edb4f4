using System.Text.Json.Serialization;

namespace Isaac.Plugins;

/// <summary>What every handler receives: the same document in process and, as JSON on stdin, out of process.</summary>
public sealed record CommandRequest
{
    /// <summary>The envelope protocol version the host speaks; see <see cref="Protocol.Version"/>.</summary>
    [JsonPropertyName("protocol_version")]
    public int ProtocolVersion { get; init; } = Protocol.Version;

    /// <summary>The manifest name of the command being run, for example <c>status</c>.</summary>
    [JsonPropertyName("command")]
    public required string Command { get; init; }

    /// <summary>The line exactly as the user typed it, for example <c>/status --verbose</c>.</summary>
    [JsonPropertyName("text")]
    public required string Text { get; init; }

    /// <summary>Trigger captures by name: named regex groups, plus the manifest's <c>capture</c> name for the last group.</summary>
    [JsonPropertyName("captures")]
    public IReadOnlyDictionary<string, string> Captures { get; init; } = new Dictionary<string, string>();

    /// <summary>The captured argument text split into words with shell-like quoting, never expanded.</summary>
    [JsonPropertyName("args")]
    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>Declared manifest arguments by name, bound from <see cref="Args"/> by position.</summary>
    [JsonPropertyName("arguments")]
    public IReadOnlyDictionary<string, string> Arguments { get; init; } = new Dictionary<string, string>();

    /// <summary>The working directory of the shell when the command was typed.</summary>
    [JsonPropertyName("cwd")]
    public required string WorkingDirectory { get; init; }

    /// <summary>Facts about the session that runs the command.</summary>
    [JsonPropertyName("session")]
    public required SessionInfo Session { get; init; }

    /// <summary>The instant (UTC) after which the host stops the handler.</summary>
    [JsonPropertyName("deadline")]
    public required DateTimeOffset Deadline { get; init; }
}
