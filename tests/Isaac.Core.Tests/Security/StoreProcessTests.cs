using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Isaac.Core.Devices;
using Isaac.Core.Tests.Support;
using Isaac.Core.Wire;
using Isaac.Hub;
using Isaac.Plugins;

namespace Isaac.Core.Tests.Security;

/// <summary>The real <c>isaac</c> executable with a damaged or unusable store: one line for the person, no stack trace, and it carries on where it can.</summary>
public sealed partial class StoreProcessTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly List<Process> _processes = [];
    private readonly ConcurrentQueue<string> _output = new();

    public void Dispose()
    {
        IsaacProcess.KillAll(_processes);
        _dir.Dispose();
    }

    [Fact(Timeout = 60_000)]
    public async Task A_route_with_a_read_only_queue_says_in_one_line_that_it_was_not_queued()
    {
        // Arrange: a queue that exists (one command waiting), then made read-only.
        var home = _dir.Combine("home");
        var first = await IsaacProcess.RunAsync(home, "-c", "!laptop2 /status");
        Assert.True(first.ExitCode == 0, first.ToString());
        var queue = Path.Combine(home, "queue.db");
        var before = await File.ReadAllBytesAsync(queue);

        // Act
        IsaacRun run;
        using (new ReadOnlyPath(queue))
        {
            run = await IsaacProcess.RunAsync(home, "-c", "!laptop2 /status");
        }

        // Assert
        Assert.NotEqual(0, run.ExitCode);
        var output = (run.Stdout + run.Stderr).Trim();
        Assert.DoesNotContain('\n', output);
        Assert.Contains($"Not queued: queue.db is read-only ({queue}). Nothing was sent.", output);
        Assert.DoesNotContain("   at ", output);
        Assert.DoesNotContain("Exception", output);
        Assert.Equal(before, await File.ReadAllBytesAsync(queue));
    }

    [Fact(Timeout = 90_000)]
    public async Task A_hub_with_a_damaged_hub_db_starts_with_a_one_line_salvage_report()
    {
        // Arrange: a hub store with a device and 500 routed commands, three pages overwritten.
        var data = _dir.Combine("hub-data");
        using (var store = new HubStore(data))
        {
            store.AddDevice("laptop2", replace: false);
            store.CreateMany("laptop1", [.. Enumerable.Range(0, 500).Select(i => new RouteBody { Target = "laptop2", Text = StoreKinds.Text(i), UniqueKey = $"k{i}" })]);
        }

        var path = Path.Combine(data, "hub.db");
        var (pageSize, pages) = StoreKinds.Geometry(path);
        StoreKinds.Damage(path, pageSize, [pages / 2, (pages / 2) + 2], seed: 11);
        var address = FreeAddress();

        // Act
        Start(["hub", "--urls", address, "--data", data], new() { ["ISAAC_HOME"] = _dir.Combine("hub-home") });
        await AgentHarness.WaitUntilAsync(() => _output.Any(line => line.Contains("listening", StringComparison.Ordinal)), "the hub says it listens", TimeSpan.FromSeconds(45));

        // Assert
        using var http = new HttpClient();
        Assert.True((await http.GetAsync(address + "/health")).IsSuccessStatusCode);
        var report = Assert.Single(_output, line => line.Contains("hub.db was damaged", StringComparison.Ordinal));
        Assert.StartsWith("isaac: warning: hub.db was damaged", report);
        var kept = KeptPattern().Match(report);
        Assert.True(kept.Success, report);
        Assert.InRange(int.Parse(kept.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 1, 500);
        Assert.Equal("500", kept.Groups[2].Value);
        Assert.DoesNotContain(_output, line => line.Contains("   at ", StringComparison.Ordinal));
    }

    [Fact(Timeout = 90_000)]
    public async Task An_agent_with_a_damaged_agent_db_says_so_in_one_line_and_serves()
    {
        // Arrange: 300 finished assignments in agent.db, two pages overwritten; a command to serve.
        var home = _dir.Combine("home");
        var root = Path.Combine(home, "commands");
        TestManifests.Script(root, "count", """printf '{"status":"success","stdout":"counted"}'""");
        using (var store = new AgentStore(Path.Combine(home, "agent.db")))
        {
            for (var i = 0; i < 300; i++)
            {
                store.Receive($"old-{i}", "laptop1", StoreKinds.Text(i), i + 1, parallel: false);
                store.Finish($"old-{i}", "completed", new CommandResponse { Stdout = "done" }, null);
                store.MarkReported($"old-{i}");
            }
        }

        var path = Path.Combine(home, "agent.db");
        var (pageSize, pages) = StoreKinds.Geometry(path);
        StoreKinds.Damage(path, pageSize, [pages / 2, (pages / 2) + 2], seed: 13);
        await using var hub = new ScriptedHub();

        // Act
        Start(["agent"], new()
        {
            ["ISAAC_HOME"] = home,
            ["ISAAC_DEVICE"] = "laptop2",
            ["ISAAC_HUB"] = hub.Address.ToString(),
            ["ISAAC_TOKEN"] = "isk_test",
        });
        var connection = await hub.NextConnectionAsync(TimeSpan.FromSeconds(45));
        await connection.WaitForAsync(m => m.Type == "hello", TimeSpan.FromSeconds(30));
        await connection.AssignAsync("k1", seq: 1000, text: "/count");
        var completed = await connection.WaitForAsync("completed", "k1", TimeSpan.FromSeconds(30));

        // Assert
        Assert.Equal("counted", completed.Result?.Stdout);
        var report = Assert.Single(_output, line => line.Contains("agent.db was damaged", StringComparison.Ordinal));
        Assert.Matches(@"^\d\d:\d\d:\d\d ERR agent\.db was damaged", report); // the agent's console log (stderr)
        Assert.Matches(@"kept [1-9]\d* of 300 assignments\.$", report);
        Assert.DoesNotContain(_output, line => line.Contains("   at ", StringComparison.Ordinal));
    }

    private void Start(string[] arguments, Dictionary<string, string?> environment) =>
        _processes.Add(IsaacProcess.Start(arguments, environment, _output.Enqueue));

    private static string FreeAddress()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}";
    }

    [GeneratedRegex(@"kept (\d+) of (\d+) routed commands\.$")]
    private static partial Regex KeptPattern();
}
