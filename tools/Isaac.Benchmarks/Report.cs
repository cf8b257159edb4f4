using System.Globalization;
using System.Text;

namespace Isaac.Benchmarks;

/// <summary>The Markdown that goes into docs/BENCHMARKS.md.</summary>
internal sealed class Report
{
    private readonly StringBuilder _text = new();

    public void Section(string title, string description, params (string Name, Samples Samples, Samples Floor)[] rows)
    {
        _text.AppendLine(CultureInfo.InvariantCulture, $"### {title}").AppendLine().AppendLine(description).AppendLine();
        _text.AppendLine("| case | p50 | p99 | p50 ratio |").AppendLine("|---|---:|---:|---:|");
        foreach (var (name, samples, floor) in rows)
        {
            _text.AppendLine(CultureInfo.InvariantCulture,
                $"| {name} | {Format(samples.P50)} | {Format(samples.P99)} | {Ratio(samples.P50, floor.P50)} |");
        }

        _text.AppendLine();
    }

    public void Text(string line) => _text.AppendLine(line).AppendLine();

    public override string ToString() => _text.ToString();

    // A floor below the clock's resolution makes a ratio meaningless; the absolute figures say it all.
    private static string Ratio(double value, double floor) =>
        floor < 0.05 ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"{value / floor:0.00}×");

    private static string Format(double micros) => micros switch
    {
        < 1 => string.Create(CultureInfo.InvariantCulture, $"{micros * 1000:0} ns"),
        < 1_000 => string.Create(CultureInfo.InvariantCulture, $"{micros:0.0} µs"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{micros / 1000:0.0} ms"),
    };
}
