using System.Text.Json.Serialization;

namespace Isaac.Plugins;

/// <summary>Facts about the shell session a command runs in.</summary>
public sealed record SessionInfo
{
    /// <summary>This device's name (<c>ISAAC_DEVICE</c>, by default the host name).</summary>
    [JsonPropertyName("device")]
    public required string Device { get; init; }

    /// <summary>Whether the hub was reachable when the command started.</summary>
    [JsonPropertyName("online")]
    public bool Online { get; init; }

    /// <summary>Whether a person is at a terminal; when false, print plain results only.</summary>
    [JsonPropertyName("interactive")]
    public bool Interactive { get; init; }

    /// <summary>The width of the terminal in columns, or 80 when there is none.</summary>
    [JsonPropertyName("terminal_width")]
    public int TerminalWidth { get; init; } = 80;

    /// <summary>Isaac's home folder (<c>ISAAC_HOME</c>).</summary>
    [JsonPropertyName("isaac_home")]
    public required string IsaacHome { get; init; }

    /// <summary>Who asked: <c>local</c>, or the name of the device that routed the command here.</summary>
    [JsonPropertyName("origin")]
    public string Origin { get; init; } = "local";
}
