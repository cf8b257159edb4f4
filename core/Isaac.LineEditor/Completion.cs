namespace Isaac.LineEditor;

/// <summary>One thing Tab can put in place of the word before the cursor.</summary>
/// <param name="Text">What replaces the word.</param>
/// <param name="Description">Shown beside it when candidates are listed; empty for none.</param>
/// <param name="Complete">True when nothing more follows (a space is added); false for a folder.</param>
internal sealed record Completion(string Text, string Description = "", bool Complete = true);

/// <summary>The candidates for the word that starts at <see cref="Start"/> and ends at the cursor.</summary>
internal sealed record CompletionSet
{
    public static CompletionSet None { get; } = new() { Start = 0, Candidates = [] };

    public required int Start { get; init; }

    public required IReadOnlyList<Completion> Candidates { get; init; }

    /// <summary>True when the candidates only describe what may be typed here (a manifest's arguments): listed, never inserted.</summary>
    public bool HintsOnly { get; init; }

    /// <summary>The longest text every candidate starts with.</summary>
    public static string CommonPrefix(IReadOnlyList<Completion> candidates)
    {
        if (candidates.Count == 0)
        {
            return "";
        }

        var prefix = candidates[0].Text;
        foreach (var candidate in candidates.Skip(1))
        {
            var length = 0;
            while (length < prefix.Length && length < candidate.Text.Length && prefix[length] == candidate.Text[length])
            {
                length++;
            }

            prefix = prefix[..length];
        }

        return prefix;
    }
}
