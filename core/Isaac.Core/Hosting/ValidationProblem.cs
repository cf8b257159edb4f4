namespace Isaac.Core.Hosting;

/// <summary>One problem <c>isaac validate</c> found in one manifest.</summary>
public sealed record ValidationProblem
{
    public required string File { get; init; }
    public required int Line { get; init; }
    public required int Column { get; init; }

    /// <summary>A short rule name, for example <c>schema:no-additional-properties-allowed</c> or <c>other-shape</c>.</summary>
    public required string Rule { get; init; }

    public required string Message { get; init; }

    /// <summary>For a manifest in the other shape: how each of its fields maps to this format.</summary>
    public IReadOnlyList<string> Mapping { get; init; } = [];

    /// <summary>The problem as one line, <c>file:line:column: rule: message</c>.</summary>
    public required string Text { get; init; }
}
