using Isaac.Core.Dispatch;

namespace Isaac.Cli.Shell;

/// <summary>Prints a result: stdout as the handler wrote it, errors on stderr, colour only for a person at a terminal.</summary>
internal static class ResultPrinter
{
    public static void Print(CommandResult result, Terminal terminal)
    {
        if (result.Stdout.Length > 0)
        {
            Console.Out.Write(result.Stdout.EndsWith('\n') ? result.Stdout : result.Stdout + "\n");
        }

        if (result.Stderr.Length == 0)
        {
            return;
        }

        var text = result.Error is { } error ? $"isaac: {error.ToWire()}: {result.Stderr.TrimEnd()}" : result.Stderr.TrimEnd();
        Console.Error.WriteLine(terminal.Interactive ? $"\u001b[31m{text}\u001b[0m" : text);
    }
}
