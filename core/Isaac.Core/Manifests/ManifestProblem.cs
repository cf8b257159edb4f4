namespace Isaac.Core.Manifests;

/// <summary>One thing wrong with one manifest, located as precisely as the parser allows.</summary>
internal sealed record ManifestProblem(string File, int Line, int Column, string Rule, string Message)
{
    public override string ToString() => $"{File}:{Line}:{Column}: {Rule}: {Message}";
}
