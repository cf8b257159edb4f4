using System.Collections;

namespace Isaac.Cli.Shell;

/// <summary>What Isaac knows about where it is printing.</summary>
/// <param name="Interactive">A person at a terminal: a prompt, a line editor, table borders.</param>
/// <param name="Width">Columns to format for.</param>
/// <param name="Color">Colour and styles may be written to stdout: it is a terminal and NO_COLOR (or --no-color) is not set.</param>
internal sealed record Terminal(bool Interactive, int Width, bool Color)
{
    /// <summary>Variables whose presence means an automated run, not a person (DESIGN §4); <c>CLAUDE_*</c> is a prefix (a hook context).</summary>
    private static readonly string[] _automationMarkers = ["CI", "GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_HOME"];

    /// <summary>
    /// Interactive only with a terminal on stdin and stdout and no automation marker set; colour only on a terminal
    /// and without NO_COLOR.
    /// </summary>
    public static Terminal Detect()
    {
        var interactive = !Console.IsInputRedirected && !Console.IsOutputRedirected && !IsAutomated(Environment.GetEnvironmentVariables());

        // Output for programs is not wrapped at some imaginary terminal's edge.
        var width = 200;
        if (!Console.IsOutputRedirected)
        {
            try
            {
                // A terminal that reports no size (0 columns: some CI and `script` ptys) gets the classic 80.
                width = Console.WindowWidth is > 0 and var columns ? Math.Max(20, columns) : 80;
            }
            catch (IOException)
            {
                // No console attached after all; keep the default.
            }
        }

        return new Terminal(interactive, width, ColorAllowed && !Console.IsOutputRedirected);
    }

    /// <summary>Whether stderr may be coloured: a terminal, and neither NO_COLOR nor --no-color.</summary>
    public static bool ErrorColor => ColorAllowed && !Console.IsErrorRedirected;

    /// <summary>
    /// False when NO_COLOR holds any non-empty value (no-color.org), which <c>--no-color</c> sets for this process
    /// and so for its handlers, or when the terminal says it cannot show any (TERM=dumb).
    /// </summary>
    public static bool ColorAllowed =>
        string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR")) && Environment.GetEnvironmentVariable("TERM") != "dumb";

    /// <summary>Whether <paramref name="environment"/> marks an automated run: CI, GITHUB_ACTIONS, GITLAB_CI, JENKINS_HOME or any CLAUDE_* set.</summary>
    public static bool IsAutomated(IDictionary environment)
    {
        foreach (DictionaryEntry variable in environment)
        {
            if (variable is { Key: string name, Value: string { Length: > 0 } }
                && (_automationMarkers.Contains(name, StringComparer.Ordinal) || name.StartsWith("CLAUDE_", StringComparison.Ordinal)))
            {
                return true;
            }
        }

        return false;
    }
}
