using System.Globalization;
using System.Text.Json;

namespace Isaac.Plugins.Help;

/// <summary><c>/help</c>: every loaded command, from its manifest, as a table; <c>/help NAME</c>: that command's full help.</summary>
public sealed class HelpHandler : ICommandHandler
{
    private static readonly JsonSerializerOptions _json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public Task<CommandResponse> HandleAsync(CommandRequest request, HandlerContext context, CancellationToken cancellationToken)
    {
        var json = request.Args.Contains("--json");
        var filter = request.Args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal))?.TrimStart('/');
        if (context.Commands.FirstOrDefault(c => c.Name == filter) is { } exact)
        {
            return Task.FromResult(json
                ? new CommandResponse { Kind = "json", Stdout = JsonSerializer.Serialize(exact, _json) + "\n" }
                : new CommandResponse { Stdout = exact.Help });
        }

        var commands = context.Commands
            .Where(c => filter is null || c.Name.Contains(filter, StringComparison.OrdinalIgnoreCase) || c.Category == filter)
            .OrderBy(c => c.Category, StringComparer.Ordinal)
            .ThenBy(c => c.Name, StringComparer.Ordinal)
            .ToList();
        if (commands.Count == 0)
        {
            return Task.FromResult(CommandResponse.Fail($"No command matches '{filter}'. Type /help for the full list."));
        }

        if (json)
        {
            return Task.FromResult(new CommandResponse { Kind = "json", Stdout = JsonSerializer.Serialize(commands, _json) + "\n" });
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
