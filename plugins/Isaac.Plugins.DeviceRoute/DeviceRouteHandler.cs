namespace Isaac.Plugins.DeviceRoute;

/// <summary>
/// <c>!laptop2 /status</c> (and <c>/route laptop2 /status</c>): runs a command on another device through the hub.
/// The routed text is data end to end: it is never given to a shell on either side.
/// </summary>
public sealed class DeviceRouteHandler : ICommandHandler
{
    // Time kept back from the manifest's deadline to answer before the host gives up on us.
    private static readonly TimeSpan _answerMargin = TimeSpan.FromMilliseconds(500);

    public async Task<CommandResponse> HandleAsync(CommandRequest request, HandlerContext context, CancellationToken cancellationToken)
    {
        if (!request.Captures.TryGetValue("device", out var device) || !request.Captures.TryGetValue("text", out var text) || text.Trim().Length == 0)
        {
            return CommandResponse.Fail("Usage: !<device> <command>, for example !laptop2 /sysinfo", exitCode: 2);
        }

        var key = Guid.NewGuid().ToString("N");
        if (context.Hub is not { } hub)
        {
            return await QueueAsync(context, device, text, key, "no hub is configured (ISAAC_HUB)", cancellationToken);
        }

        var outcome = await hub.RouteAsync(new RouteRequest { Target = device, Text = text, UniqueKey = key }, cancellationToken);
        switch (outcome)
        {
            case { Status: RouteStatus.Unavailable }:
                return await QueueAsync(context, device, text, key, outcome.Reason, cancellationToken);
            case { Status: RouteStatus.Unauthorized or RouteStatus.Rejected } or { Command: null }:
                return CommandResponse.Fail($"The hub refused '{text}' for '{device}': {outcome.Reason}");
        }

        var routed = outcome.Command;
        if (!routed.TargetOnline && !routed.IsFinished)
        {
            await Track(context, routed, cancellationToken);
            return new CommandResponse
            {
                Stdout = $"Delivered to hub; {device} is offline, will run when it connects. See /queue results.",
                Meta = new Dictionary<string, string> { ["hub_id"] = routed.Id, ["device"] = device },
            };
        }

        var wait = request.Deadline - DateTimeOffset.UtcNow - _answerMargin;
        var final = routed.IsFinished ? routed : await hub.WaitAsync(routed.Id, wait > TimeSpan.Zero ? wait : TimeSpan.Zero, cancellationToken);
        if (final is not { IsFinished: true })
        {
            await Track(context, final ?? routed, cancellationToken);
            return CommandResponse.Ok($"Still running on {device}; its result will be shown when it arrives (/queue results).");
        }

        return Present(device, final);
    }

    /// <summary>The remote result, each line marked with the device it came from.</summary>
    public static CommandResponse Present(string device, RoutedCommand routed)
    {
        if (routed.Result is not { } result)
        {
            return CommandResponse.Fail($"[{device}] {routed.Status}: {routed.Error ?? "no result"}");
        }

        return result with
        {
            Stdout = Prefix(device, result.Stdout.Length == 0 && result.Table is not null ? " " : result.Stdout),
            Stderr = Prefix(device, result.Stderr),
            Meta = new Dictionary<string, string>(result.Meta) { ["device"] = device, ["hub_id"] = routed.Id },
        };
    }

    private static string Prefix(string device, string text) =>
        text.Length == 0 ? "" : string.Join('\n', text.TrimEnd('\n').Split('\n').Select(line => $"[{device}] {line}".TrimEnd())) + "\n";

    private static async Task<CommandResponse> QueueAsync(HandlerContext context, string device, string text, string key, string? why, CancellationToken cancellationToken)
    {
        if (context.Queue is not { } queue)
        {
            return CommandResponse.Fail($"Cannot reach the hub ({why}) and there is no queue to keep '{text}' for {device}.");
        }

        var id = await queue.EnqueueAsync("device_route", text, device, key, cancellationToken);
        return new CommandResponse
        {
            Stdout = $"Command queued (#{id}) - will sync when online",
            Meta = new Dictionary<string, string> { ["queued_id"] = id.ToString(System.Globalization.CultureInfo.InvariantCulture), ["reason"] = why ?? "" },
        };
    }

    private static Task Track(HandlerContext context, RoutedCommand routed, CancellationToken cancellationToken) =>
        context.Queue?.TrackRoutedAsync(routed, cancellationToken) ?? Task.CompletedTask;
}
