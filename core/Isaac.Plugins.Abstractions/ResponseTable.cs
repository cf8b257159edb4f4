using System.Text.Json.Serialization;

namespace Isaac.Plugins;

/// <summary>Tabular output; the host renders it for the terminal (or plainly when not interactive) and passes it through in <c>--json</c>.</summary>
public sealed record ResponseTable
{
    /// <summary>Column headings, in order.</summary>
    [JsonPropertyName("columns")]
    public required IReadOnlyList<string> Columns { get; init; }

    /// <summary>Rows of cells, one cell per column.</summary>
    [JsonPropertyName("rows")]
    public required IReadOnlyList<IReadOnlyList<string>> Rows { get; init; }
}
