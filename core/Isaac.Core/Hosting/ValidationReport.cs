namespace Isaac.Core.Hosting;

/// <summary>What <c>isaac validate</c> found.</summary>
public sealed record ValidationReport
{
    /// <summary>Commands that loaded, with their manifest files.</summary>
    public IReadOnlyList<(string Name, string ManifestPath)> Loaded { get; init; } = [];

    /// <summary>Every problem found.</summary>
    public IReadOnlyList<ValidationProblem> Problems { get; init; } = [];

    /// <summary>How many manifest files were looked at.</summary>
    public int Checked { get; init; }
}
