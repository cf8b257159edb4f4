using System.Diagnostics;
using System.Globalization;
using Isaac.Core.Queue;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Delivery;

/// <summary>
/// Real processes under the faults a device meets in life: an agent that freezes (SIGSTOP: a sleeping laptop, a
/// debugger), several would-be servers for one device on one machine and on another, and shells that come and go.
/// Every command runs once, in order, and none is left stuck.
/// </summary>
public sealed class DeliveryFaultTests : IDisposable
{
    // The agent's heartbeat (AgentOptions.DefaultHeartbeat); nothing outside the process sets it, so the default.
    private static readonly TimeSpan _heartbeat = TimeSpan.FromSeconds(5);

    private readonly HubHarness _hub = new();
    private readonly DeviceWatch _watch;

    public DeliveryFaultTests() => _watch = new DeviceWatch(_hub);

    public void Dispose()
    {
        _watch.Dispose(); // first: it thaws what it froze
        _hub.Dispose();
    }

    // Appends "start N" and "end N" to one log file: what ran, how often, in which order (also across machines).
    private static string Logged(string log) => $$"""
        n=$(cat | grep -o '"args":\["[^"]*"' | cut -d'"' -f4)
        echo "start $n" >> '{{log}}'; echo "end $n" >> '{{log}}'
        printf '{"status":"success","stdout":"ran %s"}' "$n"
        """;

    private string CountLog => Path.Combine(_hub.Home("laptop2"), "count");

    private async Task SetUpAsync()
    {
        await _hub.AddDevicesAsync("desktop", "laptop2");
        _hub.AddCommand("desktop", "job", Logged(CountLog));
        _hub.AddCommand("laptop2", "job", Logged(CountLog));
    }

    // A handler whose agent was SIGKILLed while writing its request reads nothing and logs no number: that command is in doubt.
    private static List<int> Numbers(IEnumerable<string> log, string prefix) =>
        log.Where(line => line.StartsWith(prefix, StringComparison.Ordinal) && line.Length > prefix.Length)
            .Select(line => int.Parse(line[prefix.Length..], CultureInfo.InvariantCulture)).ToList();

    private int Ends => Numbers(_hub.Counted("laptop2"), "end ").Count;

    private static string[] Sequential(IEnumerable<int> numbers) => numbers.SelectMany(n => new[] { $"start {n}", $"end {n}" }).ToArray();

    // Routes from desktop: enqueued in its durable queue (the one path to the hub), then delivered by /sync.
    private async Task RouteAsync(IEnumerable<int> numbers)
    {
        await using var queue = new CommandQueue(Path.Combine(_hub.Home("desktop"), "queue.db"));
        foreach (var n in numbers)
        {
            await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.DeviceRoute, Text = $"/job {n}", Target = "laptop2" });
        }

        while ((await queue.GetStatusAsync()).Queued > 0)
        {
            var sync = await _hub.RunAsync("desktop", "/sync");
            Assert.True(sync.ExitCode == 0, sync.ToString());
        }
    }

    // The hub's own record of each command, keyed by its number.
    private Dictionary<int, string> HubStatuses() =>
        _hub.CommandStatuses().ToDictionary(c => int.Parse(c.Key["/job ".Length..], CultureInfo.InvariantCulture), c => c.Value);

    private string Describe() =>
        $"count log: [{string.Join(", ", _hub.Counted("laptop2").TakeLast(12))}]; hub: "
        + string.Join(", ", HubStatuses().GroupBy(s => s.Value).Select(g => $"{g.Key} {g.Count()} (first {g.Min(s => s.Key)})"))
        + $"; hub connections: {_watch.HubLog("Device laptop2 connected").Length}";

    private static bool Alive(TmuxSession session)
    {
        try
        {
            session.Screen();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task A_frozen_agent_goes_offline_within_two_heartbeats_and_runs_its_commands_once_after_it_thaws()
    {
        // Arrange: laptop2's agent is connected
        await SetUpAsync();
        await _hub.StartHubAsync();
        var agent = _hub.StartAgent("laptop2");
        await _watch.WaitForPresenceAsync("laptop2", online: true, TimeSpan.FromSeconds(30));

        // Act: freeze it; the hub hears nothing more from it
        var frozenAt = Stopwatch.StartNew();
        _watch.Freeze(agent);
        await _watch.WaitForPresenceAsync("laptop2", online: false, TimeSpan.FromSeconds(60));
        var tookToGoOffline = frozenAt.Elapsed;
        var routes = new List<IsaacRun>();
        for (var n = 1; n <= 3; n++)
        {
            routes.Add(await _hub.RunAsync("desktop", $"!laptop2 /job {n}"));
        }

        var ranWhileFrozen = _hub.Counted("laptop2");
        _watch.Thaw(agent);
        await DeviceWatch.WaitUntilAsync(() => Ends >= 3, TimeSpan.FromSeconds(60), Describe);

        // Assert: offline within two heartbeats (plus room for a loaded machine), and each command once, in order
        Assert.True(tookToGoOffline < (2 * _heartbeat) + TimeSpan.FromSeconds(5), $"offline only after {tookToGoOffline.TotalSeconds:0.0} s");
        Assert.All(routes, route =>
        {
            Assert.True(route.ExitCode == 0, route.ToString());
            Assert.Contains("offline", route.Stdout, StringComparison.Ordinal);
        });
        Assert.Empty(ranWhileFrozen);
        await DeviceWatch.WaitUntilAsync(() => HubStatuses().Values.All(s => s == "completed"), TimeSpan.FromSeconds(30), Describe);
        Assert.Equal(Sequential([1, 2, 3]), _hub.Counted("laptop2"));
    }

    [Fact(Timeout = 300_000)]
    public async Task Two_agents_on_one_machine_and_one_on_another_run_200_routes_once_each_in_order_without_a_reconnect_storm()
    {
        // Arrange: the serving agent, a second one on the same home (waits on agent.lock), and one on another
        // machine holding the same device token (refused by the hub while the device is served)
        const int commands = 200;
        await SetUpAsync();
        var otherHome = _hub.Home("laptop2-other");
        Directory.CreateDirectory(otherHome);
        _hub.AddCommand("laptop2-other", "job", Logged(CountLog));
        await _hub.StartHubAsync();
        var serving = _hub.StartAgent("laptop2");
        await _watch.WaitForPresenceAsync("laptop2", online: true, TimeSpan.FromSeconds(30));
        var sameMachine = _hub.StartAgent("laptop2");
        var otherEnvironment = _hub.Environment("laptop2");
        otherEnvironment["ISAAC_HOME"] = otherHome;
        var otherMachine = _watch.Start(otherEnvironment, "agent");
        await DeviceWatch.WaitUntilAsync(() => DeviceWatch.HomeLog(_hub.Home("laptop2"), "waiting to take over").Length > 0,
            TimeSpan.FromSeconds(30), () => "the second agent on laptop2's home never waited on the lock");

        // Act: 200 routes; midway, the serving agent dies (SIGKILL) and another takes over
        var routing = RouteAsync(Enumerable.Range(1, commands));
        await DeviceWatch.WaitUntilAsync(() => Ends >= commands / 3, TimeSpan.FromSeconds(120), Describe);
        serving.Kill();
        await serving.WaitForExitAsync();
        await routing;
        await DeviceWatch.WaitUntilAsync(() => HubStatuses() is { Count: commands } s && s.Values.All(v => v is "completed" or "failed" or "in_doubt"),
            TimeSpan.FromSeconds(150), Describe);

        // Assert
        var statuses = HubStatuses();
        var log = _hub.Counted("laptop2");
        var started = Numbers(log, "start ");
        var ended = Numbers(log, "end ");
        Assert.False(sameMachine.HasExited);
        Assert.False(otherMachine.HasExited);
        Assert.DoesNotContain(statuses.Values, s => s is "assigned" or "device_accepted" or "running" or "accepted");

        // The one command the kill may have cut short mid-run is honestly in doubt, not run again; every other ran once,
        // in order. (The in-doubt one's handler may outlive its agent and log late, so order is judged on the rest.)
        var inDoubt = statuses.Where(s => s.Value == "in_doubt").Select(s => s.Key).ToList();
        Assert.True(inDoubt.Count <= 1, $"in doubt: {string.Join(", ", inDoubt)}");
        Assert.True(log.Count(line => line == "start ") <= inDoubt.Count, "a handler that could not read its request was not reported in doubt");
        Assert.Equal(started.Distinct(), started); // never twice
        Assert.Equal(ended.Distinct(), ended);
        var settled = started.Where(n => !inDoubt.Contains(n)).ToList();
        Assert.Equal(settled.Order(), settled); // never out of order
        Assert.Equal(ended.Where(n => !inDoubt.Contains(n)).Order(), ended.Where(n => !inDoubt.Contains(n)));
        Assert.Equal(Enumerable.Range(1, commands).Except(inDoubt), statuses.Where(s => s.Value == "completed").Select(s => s.Key).Order());
        Assert.All(statuses.Where(s => s.Value == "completed"), s => Assert.Contains(s.Key, ended));

        // Refused and waiting agents back off: a handful of connections, not a storm
        var connections = _watch.HubLog("Device laptop2 connected").Length;
        var refusals = _watch.HubLog("Device laptop2 is already served").Length;
        Assert.InRange(connections, 2, 29);
        Assert.True(refusals < 30, $"{refusals} refused connections");
    }

    [Fact(Timeout = 180_000)]
    public async Task Two_interactive_shells_on_one_machine_serve_the_device_once_between_them()
    {
        // Arrange: two interactive shells for laptop2 on one home; the first holds agent.lock
        await SetUpAsync();
        await _hub.StartHubAsync();
        var environment = string.Join(' ', _hub.Environment("laptop2").Select(e => $"{e.Key}='{e.Value}'"));
        using var first = TmuxSession.Start($"env -u CI {environment} '{Fixtures.IsaacExe}'");
        await first.WaitForAsync("isaac>", timeoutMs: 30_000);
        await _watch.WaitForPresenceAsync("laptop2", online: true, TimeSpan.FromSeconds(30));
        using var second = TmuxSession.Start($"env -u CI {environment} '{Fixtures.IsaacExe}'");
        await second.WaitForAsync("isaac>", timeoutMs: 30_000);

        // Act: 20 routes, then the serving shell exits and 5 more follow
        await RouteAsync(Enumerable.Range(1, 20));
        await DeviceWatch.WaitUntilAsync(() => Ends >= 20, TimeSpan.FromSeconds(60), Describe);
        var beforeExit = _hub.Counted("laptop2");
        first.Type("exit");
        first.SendKeys("Enter");
        await DeviceWatch.WaitUntilAsync(() => !Alive(first), TimeSpan.FromSeconds(30), () => "the first shell did not exit");
        await RouteAsync(Enumerable.Range(21, 5));
        await DeviceWatch.WaitUntilAsync(() => Ends >= 25, TimeSpan.FromSeconds(60), Describe);

        // Assert
        Assert.Equal(Sequential(Enumerable.Range(1, 20)), beforeExit);
        Assert.Equal(Sequential(Enumerable.Range(1, 25)), _hub.Counted("laptop2"));
        Assert.False(Alive(first)); // the first shell is gone: the second ran the last five
        Assert.Contains("isaac>", second.Screen());
        await DeviceWatch.WaitUntilAsync(() => HubStatuses().Values.All(s => s == "completed"), TimeSpan.FromSeconds(30), Describe);
    }
}
