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

    private bool _remote;
    private string? _originDevice;

    /// <summary>Who asked: a person at this device, or another device through the hub (whose tier policy then applies).</summary>
    [JsonIgnore]
    public CommandOrigin Origin
    {
        get => _remote ? CommandOrigin.Remote(_originDevice ?? "") : CommandOrigin.Local;
        init => (_remote, _originDevice) = (value.IsRemote, value.Device);
    }

    // The wire form (docs/protocol.md): "origin" is "local" or "remote", and "origin_device" names a remote device, so
    // no device name can read as "local" to a handler. Read back, anything but "local" is remote.
    [JsonInclude]
    [JsonPropertyName("origin")]
    internal string OriginKind
    {
        get => Origin.Kind;
        init => _remote = value != CommandOrigin.Local.Kind;
    }

    [JsonInclude]
    [JsonPropertyName("origin_device")]
    internal string? OriginDevice
    {
        get => _remote ? _originDevice : null;
        init => _originDevice = value;
    }
}
