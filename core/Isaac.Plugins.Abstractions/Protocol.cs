namespace Isaac.Plugins;

/// <summary>Versions of the contract between the host and its handlers.</summary>
public static class Protocol
{
    /// <summary>The JSON envelope version this host speaks; responses declaring a newer one are refused.</summary>
    public const int Version = 1;
}
