using System.Globalization;

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

        var response = new CommandResponse
        {
            Table = new ResponseTable
            {
                Columns = ["Command", "Description", "Category", "Tier", "Handler"],
                Rows = commands.Select(c => (IReadOnlyList<string>)[c.Usage, c.Description, c.Category, c.Tier.ToString(CultureInfo.InvariantCulture), c.HandlerKind]).ToList(),
            },
            Meta = new Dictionary<string, string> { ["count"] = commands.Count.ToString(CultureInfo.InvariantCulture) },
        };
        return Task.FromResult(response);
    }
}
