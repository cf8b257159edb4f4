namespace Isaac.Plugins;

/// <summary>
/// Who asked for a command: a person at this device (<see cref="Local"/>), or another device through the hub
/// (<see cref="Remote"/>). Rights follow <see cref="IsLocal"/>, never a device's name: a device called "local" is remote.
/// </summary>
public sealed class CommandOrigin : IEquatable<CommandOrigin>
{
    private CommandOrigin(string? device) => Device = device;

    /// <summary>A person at this device.</summary>
    public static CommandOrigin Local { get; } = new(null);

    /// <summary>The device that routed the command here, whatever its name.</summary>
    public static CommandOrigin Remote(string device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return new CommandOrigin(device);
    }

    /// <summary>Whether a person at this device asked.</summary>
    public bool IsLocal => Device is null;

    /// <summary>Whether another device asked.</summary>
    public bool IsRemote => Device is not null;

    /// <summary>The name of the device that asked when remote; null when local.</summary>
    public string? Device { get; }

    /// <summary>The envelope's <c>session.origin</c>: <c>local</c> or <c>remote</c> (the device is in <c>session.origin_device</c>).</summary>
    public string Kind => IsLocal ? "local" : "remote";

    /// <summary>Whether both are local, or both remote with the same device name (compared ordinally).</summary>
    public bool Equals(CommandOrigin? other) => other is not null && string.Equals(Device, other.Device, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as CommandOrigin);

    /// <inheritdoc/>
    public override int GetHashCode() => Device is null ? 0 : StringComparer.Ordinal.GetHashCode(Device);

    /// <summary><c>local</c>, or <c>remote device 'laptop2'</c>.</summary>
    public override string ToString() => IsLocal ? "local" : $"remote device '{Device}'";
}
