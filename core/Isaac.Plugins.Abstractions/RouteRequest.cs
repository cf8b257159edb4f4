namespace Isaac.Plugins;

/// <summary>A command for another device.</summary>
public sealed record RouteRequest
{
    /// <summary>The device that should run it.</summary>
    public required string Target { get; init; }

    /// <summary>The command line to run there, passed as data.</summary>
    public required string Text { get; init; }

    /// <summary>Identifies this request to the hub; sending it again returns the first record and never runs twice.</summary>
    public required string UniqueKey { get; init; }

    /// <summary>How long to wait for the result before leaving it to the result inbox; null waits only for delivery to the hub.</summary>
    public DateTimeOffset? Deadline { get; init; }
}
