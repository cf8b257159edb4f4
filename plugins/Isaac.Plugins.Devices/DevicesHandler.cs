using System.Globalization;
using System.Text.Json;

namespace Isaac.Plugins.Devices;

/// <summary><c>/devices</c>: every device at the hub, online or last seen, with what waits for it here, at the hub, and on it.</summary>
public sealed class DevicesHandler : ICommandHandler
{
    private static readonly JsonSerializerOptions _jsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public async Task<CommandResponse> HandleAsync(CommandRequest request, HandlerContext context, CancellationToken cancellationToken)
    {
        if (context.Routes is not { } routes)
        {
            return CommandResponse.Fail("This host offers no route service, so there are no devices to list.");
        }

        var list = await routes.ListDevicesAsync(cancellationToken);
        if (request.Args.Contains("--json"))
        {
            return new CommandResponse { Stdout = JsonSerializer.Serialize(list, _jsonOptions) + "\n", Kind = "json" };
        }

        var note = list.Live ? ""
            : list.AsOf is { } at ? $"The hub cannot be reached ({list.Reason}); this is what it said at {at.ToLocalTime():yyyy-MM-dd HH:mm}.\n"
            : $"The hub cannot be reached ({list.Reason}) and has never listed its devices here.\n";
        if (list.Devices.Count == 0)
        {
            return CommandResponse.Ok(note + "No devices are registered with the hub (isaac hub add-device <name>).\n");
        }

        var now = DateTimeOffset.UtcNow;
        return new CommandResponse
        {
            Stdout = note,
            Table = new ResponseTable
            {
                Columns = ["Device", "State", "Waiting here", "Queued at hub", "Running", "Tasks"],
                Rows = list.Devices.Select(d => (IReadOnlyList<string>)
                [
                    d.Name,
                    d.Online ? "online" : d.LastSeen is { } seen ? $"last seen {Ago(now - seen)} ago" : "never seen",
                    Count(d.WaitingHere),
                    list.Live ? Count(d.QueuedAtHub) : "?",
                    list.Live ? Count(d.InFlight) : "?",
                    !list.Live ? "?" : d.OldestTaskSince is { } since ? $"{Count(d.Tasks)}, oldest {Ago(now - since)} in its phase" : Count(d.Tasks),
                ]).ToList(),
            },
        };
    }

    private static string Count(int n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Ago(TimeSpan span) =>
        span.TotalSeconds < 60 ? $"{Math.Max(0, (int)span.TotalSeconds)}s"
        : span.TotalMinutes < 60 ? $"{(int)span.TotalMinutes}m"
        : span.TotalHours < 48 ? $"{(int)span.TotalHours}h"
        : $"{(int)span.TotalDays}d";
}
