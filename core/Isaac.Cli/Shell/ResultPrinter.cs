using Isaac.Core.Dispatch;
using Isaac.Plugins;
using Spectre.Console;

namespace Isaac.Cli.Shell;

/// <summary>
/// Prints a result: stdout as the handler wrote it, its table, errors on stderr. Borders only for a person at a
/// terminal; colour and styles only where <see cref="Terminal.Color"/> (stdout) or <see cref="Terminal.ErrorColor"/>
/// (stderr) allow them, never with NO_COLOR or --no-color.
/// </summary>
internal static class ResultPrinter
{
    public static void Print(CommandResult result, Terminal terminal)
    {
        if (result.Stdout.Length > 0)
        {
            Console.Out.Write(result.Stdout.EndsWith('\n') ? result.Stdout : result.Stdout + "\n");
        }

        if (result.Table is { } table)
        {
            Render(table, terminal);
        }

        if (result.Stderr.Length == 0)
        {
            return;
        }

        var text = result.ErrorName is { } error ? $"isaac: {error}: {result.Stderr.TrimEnd()}" : result.Stderr.TrimEnd();
        Console.Error.WriteLine(Terminal.ErrorColor ? $"\u001b[31m{text}\u001b[0m" : text);
    }

    private static void Render(ResponseTable table, Terminal terminal)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = terminal.Color ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal.Color ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(Console.Out),
        });
        console.Profile.Width = terminal.Width;

        // Cells are plain Text, never markup: a handler's output must not be able to restyle the terminal.
        var rendered = new Table().Border(terminal.Interactive ? TableBorder.Rounded : TableBorder.None);
        foreach (var column in table.Columns)
        {
            rendered.AddColumn(new TableColumn(new Text(column, terminal.Color ? new Style(decoration: Decoration.Bold) : Style.Plain)));
        }

        foreach (var row in table.Rows)
        {
            rendered.AddRow(table.Columns.Select((_, i) => new Text(i < row.Count ? row[i] : "")));
        }

        console.Write(rendered);
    }
}
