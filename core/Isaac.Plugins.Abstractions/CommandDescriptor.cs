namespace Isaac.Plugins;

/// <summary>A loaded command as the user sees it in <c>/help</c>.</summary>
public sealed record CommandDescriptor
{
    /// <summary>The manifest name.</summary>
    public required string Name { get; init; }

    /// <summary>The one-line description.</summary>
    public required string Description { get; init; }

    /// <summary>The category used to group commands.</summary>
    public required string Category { get; init; }

    /// <summary>How to type it, for example <c>/queue [args]</c>.</summary>
    public required string Usage { get; init; }

    /// <summary>The security tier (1 safe, 2 changes local state, 3 dangerous).</summary>
    public int Tier { get; init; }

    /// <summary><c>plugin</c> or <c>script</c>.</summary>
    public required string HandlerKind { get; init; }

    /// <summary>The full help from the manifest (description, usage, arguments, flags), as <c>/NAME --help</c> shows it.</summary>
    public string Help { get; init; } = "";
}
