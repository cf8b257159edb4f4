using System.Globalization;
using System.Text.Json;

namespace Isaac.Plugins.Sync;

/// <summary><c>/sync</c>: try the hub now and deliver everything queued that is due.</summary>
public sealed class SyncHandler : ICommandHandler
{
    public async Task<CommandResponse> HandleAsync(CommandRequest request, HandlerContext context, CancellationToken cancellationToken)
    {
        if (context.Sync is not { } sync)
        {
            var queued = context.Queue is { } queue ? (await queue.GetStatusAsync(cancellationToken)).Queued : 0;
            return Unavailable("no hub is configured (ISAAC_HUB)", queued);
        }

        var report = await sync.SyncNowAsync(cancellationToken);
        var meta = new Dictionary<string, string>
        {
            ["synced"] = report.Synced.ToString(CultureInfo.InvariantCulture),
            ["remaining"] = report.Remaining.ToString(CultureInfo.InvariantCulture),
        };
        if (!report.HubAvailable && report.Synced == 0)
        {
            return Unavailable(report.Reason, report.Remaining);
        }

        var text = report.Synced > 0 ? $"Synced {report.Synced} queued command(s)"
            : report.Remaining > 0 ? $"No commands to sync now; {report.Remaining} still queued ({report.Reason ?? "waiting for their retry time"}). See /queue."
            : "No commands to sync";
        if (report.Synced > 0 && report.Remaining > 0)
        {
            text += $"; {report.Remaining} still queued (see /queue)";
        }

        return request.Args.Contains("--json")
            ? new CommandResponse { Kind = "json", Stdout = JsonSerializer.Serialize(meta) + "\n", Meta = meta }
            : new CommandResponse { Stdout = text, Meta = meta };
    }

    private static CommandResponse Unavailable(string? reason, int queued) => new()
    {
        Status = ResponseStatus.Error,
        Stderr = "Cloud unavailable - commands remain queued" + (reason is null ? "" : $" ({reason})"),
        ExitCode = 3,
        Meta = new Dictionary<string, string> { ["remaining"] = queued.ToString(CultureInfo.InvariantCulture) },
    };
}
