namespace Isaac.Cli;

/// <summary>
/// What every <c>isaac</c> command line shares: <c>--no-color</c>, <c>-v/--verbose</c> and <c>-q/--quiet</c>.
/// Read by <see cref="QuickArguments"/> or the full parser and applied once, before anything prints.
/// </summary>
internal static class GlobalOptions
{
    public static Verbosity Verbosity { get; private set; } = Verbosity.Normal;

    public static void Apply(bool noColor, Verbosity verbosity)
    {
        // One switch for everything that colours: Isaac's own output, Spectre's, the console log, and the handlers
        // (NO_COLOR is in their environment allowlist).
        if (noColor)
        {
            Environment.SetEnvironmentVariable("NO_COLOR", "1");
        }

        Verbosity = verbosity;
    }

    /// <summary>Writes a line that is not the answer itself (a banner, a hint) to stdout, unless -q.</summary>
    public static void Say(string line)
    {
        if (Verbosity != Verbosity.Quiet)
        {
            Console.Out.WriteLine(line);
        }
    }
}
