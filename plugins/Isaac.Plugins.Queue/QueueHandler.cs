using System.Globalization;
using System.Text.Json;

namespace Isaac.Plugins.Queue;

/// <summary>
/// <c>/queue</c>: what waits for the hub. <c>/queue failed</c>, <c>/queue dead</c>, <c>/queue retry &lt;id|all&gt;</c>,
/// <c>/queue drop &lt;id&gt;</c> (asks first at a terminal); <c>--json</c> for programs.
/// </summary>
public sealed class QueueHandler : ICommandHandler
{
    private const int ListLimit = 500;

    private static readonly JsonSerializerOptions _json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public async Task<CommandResponse> HandleAsync(CommandRequest request, HandlerContext context, CancellationToken cancellationToken)
    {
        if (context.Queue is not { } queue)
        {
            return CommandResponse.Fail("The command queue is not available in this session.");
        }

        var json = request.Args.Contains("--json");
        var confirmed = request.Args.Contains("--yes") || request.Args.Contains("-y");
        var words = request.Args.Where(a => !a.StartsWith('-')).ToArray();
        var now = DateTimeOffset.UtcNow;
        return words switch
        {
            [] or ["pending"] => await ListAsync(queue, QueueView.Pending, json, now, cancellationToken),
            ["failed"] => await ListAsync(queue, QueueView.Failed, json, now, cancellationToken),
            ["dead"] => await ListAsync(queue, QueueView.Dead, json, now, cancellationToken),
            ["results"] => await ResultsAsync(queue, context.Hub, json, cancellationToken),
            ["result", var id] => await ResultAsync(queue, context.Hub, id, cancellationToken),
            ["retry", "all"] => Retried(await queue.RetryAsync(null, cancellationToken), "all"),
            ["retry", var id] when long.TryParse(id.TrimStart('#'), out var n) => Retried(await queue.RetryAsync(n, cancellationToken), $"#{n}"),
            ["drop", var id] when long.TryParse(id.TrimStart('#'), out var n) => await DropAsync(queue, n, request.Session.Interactive && !confirmed, cancellationToken),
            _ => CommandResponse.Fail(
                "Usage: /queue [pending|failed|dead|results] [--json] | /queue result <id> | /queue retry <id|all> | /queue drop <id> [--yes]", exitCode: 2),
        };
    }

    private static async Task<CommandResponse> ListAsync(ICommandQueue queue, QueueView view, bool json, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var status = await queue.GetStatusAsync(cancellationToken);
        var commands = await queue.ListAsync(view, ListLimit, cancellationToken);
        if (json)
        {
            return new CommandResponse { Kind = "json", Stdout = JsonSerializer.Serialize(new { status, commands }, _json) };
        }

        var summary = $"Queue Status: {status.Pending + status.Syncing} pending, {status.Failed} failed"
            + (status.Dead > 0 ? $", {status.Dead} dead (/queue dead)" : "")
            + (status.LastSyncAt is { } last ? $"; last sync {Age(now - last)} ago" : "");
        if (commands.Count == 0)
        {
            var empty = view switch
            {
                QueueView.Dead => "No dead letters",
                QueueView.Failed => "No failed commands",
                _ => "No commands queued",
            };
            return CommandResponse.Ok(status.Queued + status.Dead == 0 ? empty : $"{empty}\n{summary}");
        }

        var rows = commands.Select(c => (IReadOnlyList<string>)
        [
            $"#{c.Id}", c.Type, c.Target ?? "(this device)", Age(now - c.QueuedAt), c.Attempts.ToString(CultureInfo.InvariantCulture),
            c.LastError ?? "", NextAttempt(c, now),
        ]).ToList();
        return new CommandResponse
        {
            Stdout = summary,
            Table = new ResponseTable { Columns = ["ID", "Type", "Target", "Age", "Attempts", view == QueueView.Dead ? "Final error" : "Last error", "Next attempt"], Rows = rows },
            Meta = new Dictionary<string, string> { ["count"] = commands.Count.ToString(CultureInfo.InvariantCulture) },
        };
    }

    private static async Task<CommandResponse> ResultsAsync(ICommandQueue queue, IHub? hub, bool json, CancellationToken cancellationToken)
    {
        var routed = await RefreshedAsync(queue, hub, cancellationToken);
        if (json)
        {
            return new CommandResponse { Kind = "json", Stdout = JsonSerializer.Serialize(routed, _json) };
        }

        if (routed.Count == 0)
        {
            return CommandResponse.Ok("No routed commands waiting for results");
        }

        var now = DateTimeOffset.UtcNow;
        var rows = routed.Select(r => (IReadOnlyList<string>)[r.Id[..Math.Min(8, r.Id.Length)], r.Target, r.Text, State(r, now), FirstLine(r)]).ToList();
        return new CommandResponse { Table = new ResponseTable { Columns = ["ID", "Device", "Command", "Status", "Result"], Rows = rows } };
    }

    private static async Task<CommandResponse> ResultAsync(ICommandQueue queue, IHub? hub, string id, CancellationToken cancellationToken)
    {
        var routed = (await RefreshedAsync(queue, hub, cancellationToken)).FirstOrDefault(r => r.Id.StartsWith(id, StringComparison.Ordinal));
        return routed switch
        {
            null => CommandResponse.Fail($"No routed command '{id}'. See /queue results."),
            { Status: "in_doubt" } => CommandResponse.Ok($"[{routed.Target}] {routed.Text}: in doubt ({routed.Error ?? "its agent stopped while it was running"}). To run it again: !{routed.Target} {routed.Text}"),

            // Another device's answer: RoutedCommand.Result is inert (a remote "confirm" reads as text).
            { Result: { } result } => result with { Stdout = $"[{routed.Target}] {routed.Text} ({routed.Status})\n{result.Stdout}" },
            _ => CommandResponse.Ok($"[{routed.Target}] {routed.Text}: {routed.Status}{(routed.Error is { } error ? $" ({error})" : "")}"),
        };
    }

    // Asks the hub about routed commands still open, so the list is current even without a shell watching.
    private static async Task<IReadOnlyList<RoutedCommand>> RefreshedAsync(ICommandQueue queue, IHub? hub, CancellationToken cancellationToken)
    {
        var routed = await queue.ListRoutedAsync(ListLimit, cancellationToken);
        if (hub is null)
        {
            return routed;
        }

        // A task's phase is the hub's to tell (it is not kept here): the live records are shown as they are.
        var live = new Dictionary<string, RoutedCommand>(StringComparer.Ordinal);
        foreach (var open in routed.Where(r => !r.IsFinished))
        {
            if (await hub.WaitAsync(open.Id, TimeSpan.Zero, cancellationToken) is { } current)
            {
                live[open.Id] = current;
                if (current.Status != open.Status)
                {
                    await queue.TrackRoutedAsync(current, cancellationToken);
                }
            }
        }

        return live.Count == 0 ? routed : [.. routed.Select(r => live.TryGetValue(r.Id, out var current) ? current : r)];
    }

    // A task in flight shows its phase and how long it has been in it, for example "running: working for 12m".
    private static string State(RoutedCommand routed, DateTimeOffset now) =>
        routed is { IsFinished: false, Phase: { } phase }
            ? $"{routed.Status}: {phase}{(routed.Since is { } since ? $" for {Ago(now - since)}" : "")}"
            : routed.Status;

    private static string Ago(TimeSpan span) =>
        span.TotalSeconds < 60 ? $"{Math.Max(0, (int)span.TotalSeconds)}s"
        : span.TotalMinutes < 60 ? $"{(int)span.TotalMinutes}m"
        : $"{(int)span.TotalHours}h {span.Minutes}m";

    private static string FirstLine(RoutedCommand routed)
    {
        if (routed.Status == "in_doubt")
        {
            return $"may or may not have run; /queue result {routed.Id[..Math.Min(8, routed.Id.Length)]} shows how to run it again";
        }

        var text = routed.Result is { } result ? (result.Stdout.Length > 0 ? result.Stdout : result.Stderr) : routed.Error ?? "";
        var line = text.Split('\n', 2)[0];
        return line.Length > 60 ? line[..60] + "…" : line;
    }

    private static async Task<CommandResponse> DropAsync(ICommandQueue queue, long id, bool ask, CancellationToken cancellationToken)
    {
        if (ask)
        {
            var all = (await queue.ListAsync(QueueView.Pending, int.MaxValue, cancellationToken)).Concat(await queue.ListAsync(QueueView.Dead, int.MaxValue, cancellationToken));
            if (all.FirstOrDefault(c => c.Id == id) is not { } command)
            {
                return NoSuch(id);
            }

            return new CommandResponse
            {
                Kind = "confirm",
                Stdout = $"Drop #{id} ({command.Text}) for good? It will never be delivered.",
                Meta = new Dictionary<string, string> { ["confirm"] = $"/queue drop {id} --yes" },
            };
        }

        return await queue.DropAsync(id, cancellationToken) ? CommandResponse.Ok($"Dropped #{id}") : NoSuch(id);
    }

    private static CommandResponse NoSuch(long id) =>
        CommandResponse.Fail($"No waiting, failed or dead command #{id}; a command being sent right now cannot be dropped. See /queue.");

    private static CommandResponse Retried(int count, string what) => count == 0
        ? CommandResponse.Fail(what == "all" ? "Nothing to retry: no failed or dead commands." : $"No failed or dead command {what}.")
        : CommandResponse.Ok($"Retrying {count} command(s); they sync when the hub answers.");

    private static string NextAttempt(QueuedCommand command, DateTimeOffset now) => command.Status switch
    {
        "dead" => "",
        "syncing" => "sending",
        _ when command.NextAttemptAt is { } next && next > now => "in " + Age(next - now),
        _ => "when online",
    };

    private static string Age(TimeSpan span) => span switch
    {
        { TotalSeconds: < 60 } => $"{Math.Max(0, (int)span.TotalSeconds)}s",
        { TotalMinutes: < 60 } => $"{(int)span.TotalMinutes}m",
        { TotalHours: < 48 } => $"{(int)span.TotalHours}h",
        _ => $"{(int)span.TotalDays}d",
    };
}
