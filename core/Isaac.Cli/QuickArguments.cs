using Isaac.Core.Hosting;

namespace Isaac.Cli;

/// <summary>
/// The two command lines people run most, <c>isaac</c> and <c>isaac [--json] -c LINE</c> (with <c>--home</c>,
/// <c>--device</c>, <c>--hub</c> and the global <c>--no-color</c>, <c>-v</c>, <c>-q</c>), read by hand so that a start never loads System.CommandLine (~30 ms). Anything
/// else, including any token this reader is not sure about, goes to the full parser in
/// <see cref="Commands.ParseAndRunAsync"/>, which gives the same result for these lines.
/// </summary>
internal sealed record QuickArguments
{
    /// <summary>The line of <c>-c</c>; null to start the shell.</summary>
    public string? Line { get; init; }

    public bool Json { get; init; }

    public string? Home { get; init; }

    public string? Device { get; init; }

    public string? Hub { get; init; }

    public bool NoColor { get; init; }

    public Verbosity Verbosity { get; init; } = Verbosity.Normal;

    /// <summary>The settings these flags give; throws what <see cref="IsaacSettings.Resolve"/> throws (a bad config.yaml).</summary>
    public IsaacSettings Settings() => IsaacSettings.Resolve(Home, Device, Hub);

    /// <summary>The arguments read, or null when they need the full parser.</summary>
    public static QuickArguments? TryParse(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var json = false;
        var noColor = false;
        Verbosity? verbosity = null;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--json" when !json:
                    json = true;
                    break;
                case "--no-color" when !noColor:
                    noColor = true;
                    break;
                case "-v" or "--verbose" or "-q" or "--quiet" when verbosity is null:
                    // Both, or one twice, is the full parser's error to report.
                    verbosity = args[i] is "-q" or "--quiet" ? Verbosity.Quiet : Verbosity.Verbose;
                    break;
                case "-c" or "--command" or "--home" or "--device" or "--hub" when i + 1 < args.Count && IsPlainValue(args[i + 1]):
                    // "-c" and "--command" are one option: given twice is the full parser's error to report.
                    if (!values.TryAdd(args[i] == "-c" ? "--command" : args[i], args[++i]))
                    {
                        return null;
                    }

                    break;
                default:
                    return null; // a subcommand, --help, a response file, "--json true", "-c=...": the full parser's
            }
        }

        return new QuickArguments
        {
            Line = values.GetValueOrDefault("--command"),
            Json = json,
            Home = values.GetValueOrDefault("--home"),
            Device = values.GetValueOrDefault("--device"),
            Hub = values.GetValueOrDefault("--hub"),
            NoColor = noColor,
            Verbosity = verbosity ?? Verbosity.Normal,
        };
    }

    // A value System.CommandLine would read as itself: not an option-like token, a response file or a directive.
    private static bool IsPlainValue(string token) => !token.StartsWith('-') && !token.StartsWith('@') && !token.StartsWith('[');
}
