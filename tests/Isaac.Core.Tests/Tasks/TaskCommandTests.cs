using System.Collections.Concurrent;
using System.Diagnostics;
using Isaac.Core.Tests.Support;
using Isaac.Core.Wire;

namespace Isaac.Core.Tests.Tasks;

/// <summary>
/// Task commands (docs/tasks.md) on a real <c>isaac agent</c> process with real files and a real task program
/// (tests/fixtures/task_runner.py), against a scripted hub: wake and its retries, confirmation, the result watch,
/// restarts in each state, and the files kept until the hub acknowledges the result.
/// </summary>
public sealed class TaskCommandTests : IDisposable
{
    private readonly TempDir _home = new();
    private readonly List<Process> _processes = [];
    private readonly ConcurrentQueue<string> _output = new();

    public void Dispose()
    {
        IsaacProcess.KillAll(_processes);
        _home.Dispose();
    }

    private string Results => _home.Combine("tasks", "job");

    private int Wakes(string id, string name = "job") => TaskFixture.Wakes(_home.Path, id, name);

    private void AddTask(string mode, int confirmMs = 30_000, int resultMs = 600_000, string name = "job") =>
        TaskFixture.Add(_home.Path, mode, name, $"confirm_timeout_ms: {confirmMs}\nresult_timeout_ms: {resultMs}\nwake_retry_ms: [100, 200, 300]");

    private Process StartAgent(ScriptedHub hub)
    {
        var process = IsaacProcess.Start(["agent"], new Dictionary<string, string?>
        {
            ["ISAAC_HOME"] = _home.Path,
            ["ISAAC_DEVICE"] = "laptop2",
            ["ISAAC_HUB"] = hub.Address.ToString(),
            ["ISAAC_TOKEN"] = "isk_test",
        }, _output.Enqueue);
        _processes.Add(process);
        return process;
    }

    private async Task<ScriptedHub.ScriptedConnection> ConnectAsync(ScriptedHub hub)
    {
        StartAgent(hub);
        var connection = await hub.NextConnectionAsync(TimeSpan.FromSeconds(60));
        await connection.WaitForAsync(m => m.Type == "hello", TimeSpan.FromSeconds(60));
        return connection;
    }

    private static Task<AgentMessage> PhaseAsync(ScriptedHub.ScriptedConnection connection, string id, string phase) =>
        connection.WaitForAsync(m => m.Type == "running" && m.Id == id && m.Phase == phase, TimeSpan.FromSeconds(60));

    private void Go(string id, string signal = "go") => File.WriteAllText(Path.Combine(Results, $"{id}.{signal}"), "");

    [Fact(Timeout = 120_000)]
    public async Task A_task_is_woken_once_confirmed_watched_and_its_files_removed_after_the_hub_acknowledges()
    {
        // Arrange
        AddTask("ok");
        await using var hub = new ScriptedHub();
        var connection = await ConnectAsync(hub);

        // Act
        await connection.AssignAsync("t1", seq: 1, text: "/job alpha beta");
        await PhaseAsync(connection, "t1", TaskPhase.Working);
        await connection.AssignAsync("c2", seq: 2, text: "/job gamma");
        await PhaseAsync(connection, "c2", TaskPhase.Working); // the device went on while t1 works
        Go("t1");
        var completed = await connection.WaitForAsync("completed", "t1", TimeSpan.FromSeconds(60));
        await AgentHarness.WaitUntilAsync(() => !File.Exists(Path.Combine(Results, "t1.json")), "the acknowledged task's files are removed", TimeSpan.FromSeconds(60));

        // Assert
        Assert.Equal("done: alpha beta\n", completed.Result?.Stdout);
        Assert.Equal(1, Wakes("t1"));
        Assert.False(File.Exists(Path.Combine(Results, "t1.request.json")));
        Assert.True(File.Exists(Path.Combine(Results, "c2.request.json")), "the other task still works");
        var phases = connection.Received.Where(m => m.Id == "t1" && m.Type == "running" && m.Phase is not null).Select(m => m.Phase).ToList();
        Assert.Equal([TaskPhase.Waking, TaskPhase.Confirming, TaskPhase.Working], phases);
    }

    [Fact(Timeout = 120_000)]
    public async Task Without_a_wake_command_the_request_is_handed_to_a_running_program_through_the_results_folder()
    {
        // Arrange: self-start mode; the test plays the program that watches the folder.
        var folder = _home.Combine("commands", "job");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "command.yaml"), """
            version: "1.0"
            command:
              name: job
            runtime:
              mode: task
            """);
        await using var hub = new ScriptedHub();
        var connection = await ConnectAsync(hub);

        // Act
        await connection.AssignAsync("t1", seq: 1, text: "/job handed over");
        var request = Path.Combine(Results, "t1.request.json");
        await AgentHarness.WaitUntilAsync(() => File.Exists(request), "the request is in the results folder", TimeSpan.FromSeconds(60));
        var handedOver = File.ReadAllText(request);
        await PhaseAsync(connection, "t1", TaskPhase.Confirming);
        File.WriteAllText(Path.Combine(Results, "t1.started"), "");
        await PhaseAsync(connection, "t1", TaskPhase.Working);
        File.WriteAllText(Path.Combine(Results, "t1.json"), """{"status":"success","stdout":"picked up\n"}""");
        var completed = await connection.WaitForAsync("completed", "t1", TimeSpan.FromSeconds(60));

        // Assert
        Assert.Contains("\"text\":\"/job handed over\"", handedOver);
        Assert.Equal("picked up\n", completed.Result?.Stdout);
        Assert.DoesNotContain(connection.Received, m => m is { Type: "running", Phase: TaskPhase.Waking });
    }

    [Fact(Timeout = 120_000)]
    public async Task A_failed_wake_is_retried_on_its_schedule_and_the_task_fails_after_the_last_retry()
    {
        // Arrange
        AddTask("fail-2");
        AddTask("fail-always", name: "doomed");
        await using var hub = new ScriptedHub();
        var connection = await ConnectAsync(hub);

        // Act
        await connection.AssignAsync("t1", seq: 1, text: "/job one");
        await PhaseAsync(connection, "t1", TaskPhase.Working);
        Go("t1");
        var completed = await connection.WaitForAsync("completed", "t1", TimeSpan.FromSeconds(60));
        await connection.AssignAsync("t2", seq: 2, text: "/doomed two");
        var failed = await connection.WaitForAsync("failed", "t2", TimeSpan.FromSeconds(60));

        // Assert
        Assert.Equal(3, Wakes("t1"));
        Assert.Equal("done: one\n", completed.Result?.Stdout);
        Assert.Equal(4, Wakes("t2", "doomed"));
        Assert.StartsWith("wake_failed_after_3_attempts: the wake command exited with code 3: not this time", failed.Reason);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_task_that_never_confirms_fails_without_a_second_wake()
    {
        // Arrange
        AddTask("never-confirm", confirmMs: 500);
        await using var hub = new ScriptedHub();
        var connection = await ConnectAsync(hub);

        // Act
        await connection.AssignAsync("t1", seq: 1, text: "/job x");
        var failed = await connection.WaitForAsync("failed", "t1", TimeSpan.FromSeconds(60));

        // Assert
        Assert.StartsWith("not_confirmed: no t1.started", failed.Reason);
        Assert.Equal(1, Wakes("t1"));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_result_written_in_pieces_is_read_only_once_complete()
    {
        // Arrange
        AddTask("pieces");
        await using var hub = new ScriptedHub();
        var connection = await ConnectAsync(hub);
        await connection.AssignAsync("t1", seq: 1, text: "/job piece by piece");
        await PhaseAsync(connection, "t1", TaskPhase.Working);

        // Act: the first half is on disk; the agent must keep waiting for the rest.
        Go("t1");
        await AgentHarness.WaitUntilAsync(() => File.Exists(Path.Combine(Results, "t1.json")) && new FileInfo(Path.Combine(Results, "t1.json")).Length > 0,
            "the first half is written", TimeSpan.FromSeconds(60));
        var earlyReport = connection.Received.Any(m => m.Id == "t1" && m.Type is "completed" or "failed");
        Go("t1", "go2");
        var completed = await connection.WaitForAsync("completed", "t1", TimeSpan.FromSeconds(60));

        // Assert
        Assert.False(earlyReport, "reported before the result was complete");
        Assert.Equal("done: piece by piece\n", completed.Result?.Stdout);
    }

    [Theory(Timeout = 180_000)]
    [InlineData("waking")]
    [InlineData("waking_confirmation")]
    [InlineData("working")]
    public async Task An_agent_killed_mid_task_resumes_it_without_waking_it_again(string killedIn)
    {
        // Arrange: killed while the wake runs (it hangs), while the confirmation is awaited (4 s), or while it works.
        AddTask(killedIn switch { "working" => "ok", "waking" => "hang", _ => "never-confirm" }, confirmMs: killedIn == "working" ? 30_000 : 4_000);
        await using var hub = new ScriptedHub();
        var first = await ConnectAsync(hub);
        await first.AssignAsync("t1", seq: 1, text: "/job resumed");
        await PhaseAsync(first, "t1", killedIn);
        await AgentHarness.WaitUntilAsync(() => Wakes("t1") == 1, "the wake ran", TimeSpan.FromSeconds(60));

        // Act: SIGKILL, then (for a working task) the result arrives while no agent runs.
        IsaacProcess.KillAll(_processes);
        _processes.Clear();
        if (killedIn == "working")
        {
            Go("t1");
            await AgentHarness.WaitUntilAsync(() => File.Exists(Path.Combine(Results, "t1.json")), "the result is written while the agent is down", TimeSpan.FromSeconds(60));
        }

        var second = await ConnectAsync(hub);
        var outcome = await second.WaitForAsync(m => m.Id == "t1" && m.Type is "completed" or "failed", TimeSpan.FromSeconds(60));

        // Assert
        Assert.Equal(1, Wakes("t1"));
        if (killedIn == "working")
        {
            Assert.Equal("completed", outcome.Type);
            Assert.Equal("done: resumed\n", outcome.Result?.Stdout);
        }
        else
        {
            Assert.StartsWith("not_confirmed", outcome.Reason);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task A_result_the_hub_has_not_acknowledged_keeps_its_files_and_is_reported_again_on_the_next_connection()
    {
        // Arrange
        AddTask("ok");
        await using var hub = new ScriptedHub { AckResults = false };
        var first = await ConnectAsync(hub);
        await first.AssignAsync("t1", seq: 1, text: "/job kept");
        await PhaseAsync(first, "t1", TaskPhase.Working);

        // Act
        Go("t1");
        await first.WaitForAsync("completed", "t1", TimeSpan.FromSeconds(60));
        var keptWhileUnacknowledged = File.Exists(Path.Combine(Results, "t1.json"));
        hub.AckResults = true;
        first.Drop();
        var second = await hub.NextConnectionAsync(TimeSpan.FromSeconds(60));
        var again = await second.WaitForAsync("completed", "t1", TimeSpan.FromSeconds(60));
        await AgentHarness.WaitUntilAsync(() => !File.Exists(Path.Combine(Results, "t1.json")), "the files go once acknowledged", TimeSpan.FromSeconds(60));

        // Assert
        Assert.True(keptWhileUnacknowledged);
        Assert.Equal("done: kept\n", again.Result?.Stdout);
        Assert.Equal(1, Wakes("t1"));
    }
}
