namespace Isaac.Core.Manifests;

/// <summary>One thing wrong with one manifest, located as precisely as the parser allows.</summary>
internal sealed record ManifestProblem(string File, int Line, int Column, string Rule, string Message)
{
    /// <summary>For a manifest in the other shape: how each of its fields maps to this format, one line each.</summary>
    public IReadOnlyList<string> Mapping { get; init; } = [];

    /// <summary>Always one line: a hostile manifest may put line breaks and control characters in the text a message quotes.</summary>
    public override string ToString() => OneLine($"{File}:{Line}:{Column}: {Rule}: {Message}");

    private static string OneLine(string text) =>
        string.Create(text.Length, text, (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? ' ' : source[i];
            }
        });
}
