using System.Collections.Concurrent;
using System.Diagnostics;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Devices;

/// <summary>Real <c>isaac agent</c> processes against a scripted hub: crashes at fault points, and one server per machine.</summary>
public sealed class DeviceAgentProcessTests : IDisposable
{
    private const string Counter = """echo ran >> "$ISAAC_HOME/count"; printf '{"status":"success","stdout":"counted"}'""";

    private readonly TempDir _home = new();
    private readonly List<Process> _processes = [];
    private readonly ConcurrentQueue<string> _output = new();

    public void Dispose()
    {
        IsaacProcess.KillAll(_processes);
        _home.Dispose();
    }

    private int Runs => File.Exists(_home.Combine("count")) ? File.ReadAllLines(_home.Combine("count")).Length : 0;

    private void AddCounter(bool idempotent)
    {
        var root = _home.Combine("commands");
        TestManifests.Script(root, "count", Counter);
        File.WriteAllText(Path.Combine(root, "count", "command.yaml"),
            TestManifests.Yaml("count", "run.sh", extra: idempotent ? "queue:\n  idempotent: true" : ""));
    }

    private Process StartAgent(ScriptedHub hub, string? fault = null)
    {
        var environment = new Dictionary<string, string?>
        {
            ["ISAAC_HOME"] = _home.Path,
            ["ISAAC_DEVICE"] = "laptop2",
            ["ISAAC_HUB"] = hub.Address.ToString(),
            ["ISAAC_TOKEN"] = "isk_test",
        };
        if (fault is not null)
        {
            environment["ISAAC_AGENT_FAULT"] = fault;
        }

        var process = IsaacProcess.Start(["agent"], environment, _output.Enqueue);
        _processes.Add(process);
        return process;
    }

    private async Task<ScriptedHub.ScriptedConnection> CrashAtAfterRunningAsync(ScriptedHub hub)
    {
        var crashing = StartAgent(hub, fault: "after-running");
        var first = await hub.NextConnectionAsync(TimeSpan.FromSeconds(30));
        await first.WaitForAsync(m => m.Type == "hello", TimeSpan.FromSeconds(30));
        await first.AssignAsync("k1", seq: 1, text: "/count");
        await crashing.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        StartAgent(hub);
        var second = await hub.NextConnectionAsync(TimeSpan.FromSeconds(30));
        await second.WaitForAsync(m => m.Type == "hello", TimeSpan.FromSeconds(30));
        return second;
    }

    [Fact(Timeout = 90_000)]
    public async Task An_agent_killed_after_running_was_stored_reports_the_command_in_doubt_after_restart()
    {
        // Arrange
        AddCounter(idempotent: false);
        await using var hub = new ScriptedHub();

        // Act
        var restarted = await CrashAtAfterRunningAsync(hub);
        var inDoubt = await restarted.WaitForAsync("in_doubt", "k1", TimeSpan.FromSeconds(30));

        // Assert
        Assert.Equal("The agent on laptop2 stopped while '/count' was running; it may or may not have run. Run it again by hand if needed.", inDoubt.Reason);
        Assert.Equal(0, Runs);
    }

    [Fact(Timeout = 90_000)]
    public async Task An_agent_killed_after_running_was_stored_runs_an_idempotent_command_again_after_restart()
    {
        // Arrange
        AddCounter(idempotent: true);
        await using var hub = new ScriptedHub();

        // Act
        var restarted = await CrashAtAfterRunningAsync(hub);
        var completed = await restarted.WaitForAsync("completed", "k1", TimeSpan.FromSeconds(30));

        // Assert
        Assert.Equal("counted", completed.Result?.Stdout);
        Assert.Equal(1, Runs);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_second_agent_process_on_the_same_home_says_it_waits_and_takes_over_when_the_first_is_killed()
    {
        // Arrange
        AddCounter(idempotent: false);
        await using var hub = new ScriptedHub();
        var first = StartAgent(hub);
        var connection = await hub.NextConnectionAsync(TimeSpan.FromSeconds(30));
        await connection.WaitForAsync(m => m.Type == "hello", TimeSpan.FromSeconds(30));
        StartAgent(hub);
        await AgentHarness.WaitUntilAsync(() => _output.Any(line => line.Contains("waiting to take over", StringComparison.Ordinal)), "the second agent says it waits", TimeSpan.FromSeconds(30));
        await connection.AssignAsync("k1", seq: 1, text: "/count");
        await connection.WaitForAsync("completed", "k1", TimeSpan.FromSeconds(30));

        // Act
        first.Kill();
        await first.WaitForExitAsync();
        var takeover = await hub.NextConnectionAsync(TimeSpan.FromSeconds(30));
        await takeover.WaitForAsync(m => m.Type == "hello", TimeSpan.FromSeconds(30));
        await takeover.AssignAsync("k1", seq: 1, text: "/count");
        await takeover.AssignAsync("k2", seq: 2, text: "/count");
        await takeover.WaitForAsync("completed", "k2", TimeSpan.FromSeconds(30));
        await takeover.WaitForAsync("completed", "k1", TimeSpan.FromSeconds(30));

        // Assert
        Assert.Equal(2, hub.Connections.Count);
        Assert.Equal(2, Runs);
    }
}
