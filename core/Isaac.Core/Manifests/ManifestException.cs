namespace Isaac.Core.Manifests;

/// <summary>A manifest a tool was pointed at cannot be used for what was asked.</summary>
public sealed class ManifestException : IsaacException
{
    private ManifestException(string manifestPath, string message) : base(message) => ManifestPath = manifestPath;

    /// <summary>The manifest file concerned.</summary>
    public string ManifestPath { get; }

    internal static ManifestException DoesNotLoad(string manifestPath, IEnumerable<string> problems) => new(manifestPath,
        $"'{manifestPath}' does not load: {string.Join("; ", problems)}. Fix it first (isaac validate shows every problem).");

    internal static ManifestException NotAScript(string name, string manifestPath) => new(manifestPath,
        $"Command '{name}' is served by a plugin; check-handler runs script handlers (a plugin is checked by its own tests, as the plugin template's).");
}
