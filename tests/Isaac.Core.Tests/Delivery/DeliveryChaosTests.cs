using System.Diagnostics;
using Isaac.Core.Queue;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Delivery;

/// <summary>
/// The whole promise under fire: sender, hub and agent processes are killed with SIGKILL at random instants while
/// 300 routed commands travel. Nothing may be lost, nothing may run twice, nothing may run out of order; commands
/// interrupted mid-run come back in doubt and are counted, never re-run.
/// </summary>
public sealed class DeliveryChaosTests : IDisposable
{
    // Appends "start N" when it begins and "end N" when it is done: what ran, how often, in which order.
    private const string Logged = """
        n=$(cat | grep -o '"args":\["[^"]*"' | cut -d'"' -f4)
        echo "start $n" >> "$ISAAC_HOME/count"; echo "end $n" >> "$ISAAC_HOME/count"
        printf '{"status":"success","stdout":"ran %s"}' "$n"
        """;

    private const int Commands = 300;
    private const int KillsEach = 20;

    private readonly HubHarness _hub = new();

    public void Dispose() => _hub.Dispose();

    [Fact(Timeout = 400_000)]
    public async Task Killing_sender_hub_and_agent_at_random_loses_nothing_runs_nothing_twice_and_keeps_the_order()
    {
        // Arrange: 300 routes typed for laptop2 (acknowledged, so they are owed to the device)
        await _hub.AddDevicesAsync("desktop", "laptop2");
        _hub.AddCommand("desktop", "job", Logged);
        _hub.AddCommand("laptop2", "job", Logged);
        await using (var queue = new CommandQueue(Path.Combine(_hub.Home("desktop"), "queue.db")))
        {
            for (var i = 0; i < Commands; i++)
            {
                await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.DeviceRoute, Text = $"/job {i}", Target = "laptop2" });
            }
        }

        // Act: keep all three running, and kill one of them at a random instant, until each has died 20 times
        var random = new Random(8);
        var kills = new Dictionary<string, int> { ["sender"] = 0, ["hub"] = 0, ["agent"] = 0 };
        Process? sender = null, agent = null;
        var hubUp = false;
        var clock = Stopwatch.StartNew();
        while (kills.Values.Any(k => k < KillsEach) && clock.Elapsed < TimeSpan.FromMinutes(4))
        {
            if (!hubUp)
            {
                await _hub.StartHubAsync();
                hubUp = true;
            }

            agent = agent is { HasExited: false } ? agent : _hub.StartAgent("laptop2");
            sender = sender is { HasExited: false } ? sender : _hub.StartOnce("desktop", "/sync");
            await Task.Delay(random.Next(50, 600));
            switch (new[] { "sender", "hub", "agent" }.Where(k => kills[k] < KillsEach).OrderBy(_ => random.Next()).First())
            {
                case "sender" when !sender.HasExited:
                    sender.Kill();
                    kills["sender"]++;
                    break;
                case "hub":
                    _hub.KillHub();
                    hubUp = false;
                    kills["hub"]++;
                    break;
                case "agent" when !agent.HasExited:
                    agent.Kill();
                    kills["agent"]++;
                    break;
            }
        }

        // Then peace: everything up until every command has reached a final state at the hub
        if (!hubUp)
        {
            await _hub.StartHubAsync();
        }

        if (agent is not { HasExited: false })
        {
            _hub.StartAgent("laptop2");
        }

        var statuses = await SettleAsync();

        // Assert
        Assert.All(kills.Values, k => Assert.Equal(KillsEach, k));
        var statusOf = statuses;
        var completed = statusOf.Where(s => s.Value == "completed").Select(s => s.Key).ToHashSet();
        var inDoubt = statusOf.Where(s => s.Value == "in_doubt").Select(s => s.Key).ToHashSet();
        Assert.Equal(Commands, completed.Count + inDoubt.Count); // never lost: each one is done, or honestly in doubt
        Assert.True(inDoubt.Count <= KillsEach, $"{inDoubt.Count} in doubt, more than the agent was killed");

        // A handler whose agent was killed under it may live on and log late, or (killed while reading its request)
        // log no number at all: those are the in-doubt ones. Every completed command started exactly once, in order.
        var starts = _hub.Counted("laptop2").Where(l => l.StartsWith("start ", StringComparison.Ordinal)).Select(l => l[6..]).ToList();
        var numbered = starts.Where(n => n.Length > 0).Select(n => int.Parse(n, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(starts.Count - numbered.Count <= inDoubt.Count, "a handler that could not read its request was not reported in doubt");
        Assert.Equal(numbered.Count, numbered.Distinct().Count()); // never twice
        var completedStarts = numbered.Where(completed.Contains).ToList();
        Assert.Equal(completed.Order(), completedStarts); // each completed one ran, once, in order
        Assert.All(numbered.Where(n => !completed.Contains(n)), n => Assert.Contains(n, inDoubt));
    }

    // Drains with /sync until the sender's queue is empty, then waits for every command's final state at the hub.
    private async Task<Dictionary<int, string>> SettleAsync()
    {
        await using (var queue = new CommandQueue(Path.Combine(_hub.Home("desktop"), "queue.db")))
        {
            while ((await queue.GetStatusAsync()).Queued > 0)
            {
                await _hub.RunAsync("desktop", "/sync");
            }
        }

        while (true)
        {
            var statuses = HubStatuses();
            if (statuses.Count == Commands && statuses.Values.All(s => s is "completed" or "failed" or "in_doubt"))
            {
                return statuses;
            }

            await Task.Delay(250);
        }
    }

    // The hub's own record of each command, keyed by its number.
    private Dictionary<int, string> HubStatuses() =>
        _hub.CommandStatuses().ToDictionary(c => int.Parse(c.Key["/job ".Length..], System.Globalization.CultureInfo.InvariantCulture), c => c.Value);
}
