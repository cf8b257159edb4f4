namespace Isaac.Plugins.DeviceRoute;

/// <summary>
/// <c>!laptop2 /status</c> (and <c>/route laptop2 /status</c>): runs a command on another device. The host's route
/// service keeps it in order behind older commands for that device and delivers it through the hub; this handler
/// only words the outcome. The routed text is data end to end: it is never given to a shell on either side.
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

        if (context.Routes is not { } routes)
        {
            return CommandResponse.Fail($"Cannot route '{text}' to {device}: this host offers no route service.");
        }

        var outcome = await routes.RouteAsync(new RouteRequest
        {
            Target = device,
            Text = text,
            UniqueKey = Guid.NewGuid().ToString("N"),
            Deadline = request.Deadline - _answerMargin,
        }, cancellationToken);

        return outcome switch
        {
            { Status: RouteStatus.Queued, QueuedId: { } id } => new CommandResponse
            {
                Stdout = outcome.Ahead > 0
                    ? $"Command queued (#{id}) behind {outcome.Ahead} older command(s) for {device}; they run first, in order. See /queue.\n"
                    : $"Command queued (#{id}) - will sync when online ({outcome.Reason}).\n",
                Meta = new Dictionary<string, string> { ["queued_id"] = id.ToString(System.Globalization.CultureInfo.InvariantCulture), ["device"] = device, ["reason"] = outcome.Reason ?? "" },
            },
            { Status: RouteStatus.Accepted, Command: { IsFinished: true } done } => Present(device, done),
            { Status: RouteStatus.Accepted, Command: { Status: "device_accepted" or "running" } task } when task.Phase is not null || outcome.IsTask => new CommandResponse
            {
                Stdout = $"task #{task.Id} accepted by {device}{(task.Phase is { } phase ? $" ({phase})" : "")}; its result will be shown when it arrives (/queue results).\n",
                Meta = new Dictionary<string, string> { ["hub_id"] = task.Id, ["device"] = device, ["task"] = "true" },
            },
            { Status: RouteStatus.Accepted, Command: { TargetOnline: false } waiting } => new CommandResponse
            {
                Stdout = $"Delivered to the hub; {device} is offline and runs it when it connects. Its result will be shown when it arrives (/queue results).\n",
                Meta = new Dictionary<string, string> { ["hub_id"] = waiting.Id, ["device"] = device },
            },
            { Status: RouteStatus.Accepted, Command: { } running } => new CommandResponse
            {
                Stdout = $"Still running on {device} ({running.Status}); its result will be shown when it arrives (/queue results).\n",
                Meta = new Dictionary<string, string> { ["hub_id"] = running.Id, ["device"] = device },
            },
            _ => CommandResponse.Fail($"'{text}' was not delivered to {device}: {outcome.Reason ?? "the hub refused it"}"),
        };
    }

    /// <summary>
    /// The remote result, each line marked with the device it came from. <see cref="RoutedCommand.Result"/> is already
    /// inert (a remote "confirm" reads as text naming the route to run it there), and the host marks this command's
    /// result as the other device's, so it can never become a question at this prompt. Its meta (the error code among it) is kept.
    /// </summary>
    public static CommandResponse Present(string device, RoutedCommand routed)
    {
        if (routed.Status == "in_doubt")
        {
            return CommandResponse.Fail($"[{device}] in doubt: {routed.Error ?? "its agent stopped while it was running"} To run it again: !{device} {routed.Text}", exitCode: 1);
        }

        if (routed.Result is not { } result)
        {
            return CommandResponse.Fail($"[{device}] {routed.Status}: {routed.Error ?? "no result"}");
        }

        return new CommandResponse
        {
            Status = result.Status,
            Stdout = Prefix(device, result.Stdout is not { Length: > 0 } && result.Table is not null ? " " : result.Stdout ?? ""),
            Stderr = Prefix(device, result.Stderr ?? ""),
            Table = result.Table,
            ExitCode = result.ExitCode,
            Meta = new Dictionary<string, string>(result.Meta ?? new Dictionary<string, string>()) { ["device"] = device, ["hub_id"] = routed.Id },
        };
    }

    private static string Prefix(string device, string text) =>
        text.Length == 0 ? "" : string.Join('\n', text.TrimEnd('\n').Split('\n').Select(line => $"[{device}] {line}".TrimEnd())) + "\n";
}
