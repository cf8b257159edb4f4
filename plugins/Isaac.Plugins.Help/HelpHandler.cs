using Spectre.Console;
using Spectre.Console.Rendering;

namespace Isaac.Plugins.Help;

/// <summary><c>/help</c>: every loaded command, from its manifest, as a table.</summary>
public sealed class HelpHandler : ICommandHandler
{
    public Task<CommandResponse> HandleAsync(CommandRequest request, HandlerContext context, CancellationToken cancellationToken)
    {
        var filter = request.Args.Count > 0 ? request.Args[0].TrimStart('/') : null;
        var commands = context.Commands
            .Where(c => filter is null || c.Name.Contains(filter, StringComparison.OrdinalIgnoreCase) || c.Category == filter)
            .OrderBy(c => c.Category, StringComparer.Ordinal)
            .ThenBy(c => c.Name, StringComparer.Ordinal)
            .ToList();
        if (commands.Count == 0)
        {
            return Task.FromResult(CommandResponse.Fail($"No command matches '{filter}'. Type /help for the full list."));
        }

        var interactive = request.Session.Interactive;
        var table = new Table()
            .Border(interactive ? TableBorder.Rounded : TableBorder.None)
            .AddColumns("Command", "Description", "Category", "Tier", "Handler");
        foreach (var command in commands)
        {
            table.AddRow(Cell(command.Usage, "bold"), Cell(command.Description), Cell(command.Category), Cell(command.Tier.ToString(System.Globalization.CultureInfo.InvariantCulture)), Cell(command.HandlerKind));
        }

        var response = new CommandResponse
        {
            Stdout = Render(table, request.Session),
            Kind = "table",
            Meta = new Dictionary<string, string> { ["count"] = commands.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        };
        return Task.FromResult(response);
    }

    private static Text Cell(string text, string? style = null) => new(text, style is null ? Style.Plain : Style.Parse(style));

    private static string Render(IRenderable renderable, SessionInfo session)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = session.Interactive ? AnsiSupport.Yes : AnsiSupport.No,
            ColorSystem = session.Interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = session.TerminalWidth;
        console.Write(renderable);
        return writer.ToString();
    }
}
