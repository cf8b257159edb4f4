namespace Isaac.Cli.Shell;

/// <summary>What Isaac knows about where it is printing.</summary>
internal sealed record Terminal(bool Interactive, int Width)
{
    public bool Color { get; init; } = string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));

    /// <summary>Interactive only with a terminal on stdin and stdout and no CI variable set (DESIGN §4).</summary>
    public static Terminal Detect()
    {
        var interactive = !Console.IsInputRedirected && !Console.IsOutputRedirected
            && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));
        // Output for programs is not wrapped at some imaginary terminal's edge.
        var width = 200;
        if (!Console.IsOutputRedirected)
        {
            try
            {
                width = Math.Max(20, Console.WindowWidth);
            }
            catch (IOException)
            {
                // No console attached after all; keep the default.
            }
        }

        return new Terminal(interactive, width);
    }
}
