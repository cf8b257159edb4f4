using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Devices;

/// <summary>A real agent against a scripted hub: commands run in the hub's order, barriers alone, parallel ones up to capacity.</summary>
public sealed class DeviceAgentOrderTests : IDisposable
{
    private readonly TempDir _home = new();

    public void Dispose() => _home.Dispose();

    [Fact(Timeout = 60_000)]
    public async Task Twenty_sequential_commands_run_strictly_in_order_one_at_a_time()
    {
        // Arrange
        await using var hub = new ScriptedHub();
        var recorder = new RunRecorder();
        await using var agent = AgentHarness.Start(AgentHarness.Options(hub, _home.Path), recorder);
        var connection = await hub.NextConnectionAsync();
        await connection.WaitForAsync(m => m.Type == "hello");

        // Act
        for (var i = 1; i <= 20; i++)
        {
            await connection.AssignAsync($"c{i}", seq: i);
        }

        await connection.WaitForAsync("completed", "c20");
        await AgentHarness.WaitUntilAsync(() => recorder.Ends == 20, "all 20 ended");

        // Assert
        Assert.Equal(Enumerable.Range(1, 20).SelectMany(i => new[] { $"start c{i}", $"end c{i}" }), recorder.Events);
        Assert.Equal(1, recorder.MaxRunning);
    }

    [Fact(Timeout = 60_000)]
    public async Task Parallel_commands_overlap_up_to_the_capacity_and_no_further()
    {
        // Arrange
        await using var hub = new ScriptedHub();
        var recorder = new RunRecorder { Hold = true };
        await using var agent = AgentHarness.Start(AgentHarness.Options(hub, _home.Path, capacity: 3), recorder);
        var connection = await hub.NextConnectionAsync();
        await connection.WaitForAsync(m => m.Type == "hello");

        // Act
        for (var i = 1; i <= 6; i++)
        {
            await connection.AssignAsync($"p{i}", seq: i, parallel: true);
        }

        await AgentHarness.WaitUntilAsync(() => recorder.Running == 3, "three run at once");
        for (var i = 1; i <= 6; i++)
        {
            await connection.WaitForAsync("accepted", $"p{i}");
        }

        var startedWhileHeld = recorder.Events.Count(e => e.StartsWith("start", StringComparison.Ordinal));
        recorder.Release();
        await connection.WaitForAsync("completed", "p6");

        // Assert
        Assert.Equal(3, startedWhileHeld);
        Assert.Equal(3, recorder.MaxRunning);
        Assert.Equal(["start p1", "start p2", "start p3"], recorder.Events.Take(3).Order());
    }

    [Fact(Timeout = 60_000)]
    public async Task A_sequential_command_after_parallel_ones_waits_for_them_all_and_runs_alone()
    {
        // Arrange
        await using var hub = new ScriptedHub();
        var recorder = new RunRecorder { Duration = TimeSpan.FromMilliseconds(100) };
        await using var agent = AgentHarness.Start(AgentHarness.Options(hub, _home.Path, capacity: 4), recorder);
        var connection = await hub.NextConnectionAsync();
        await connection.WaitForAsync(m => m.Type == "hello");

        // Act
        await connection.AssignAsync("p1", seq: 1, parallel: true);
        await connection.AssignAsync("p2", seq: 2, parallel: true);
        await connection.AssignAsync("p3", seq: 3, parallel: true);
        await connection.AssignAsync("s4", seq: 4);
        await connection.AssignAsync("p5", seq: 5, parallel: true);
        await connection.AssignAsync("p6", seq: 6, parallel: true);
        await connection.WaitForAsync("completed", "p6");
        await connection.WaitForAsync("completed", "p5");

        // Assert
        var events = recorder.Events.ToList();
        var s4Start = events.IndexOf("start s4");
        var s4End = events.IndexOf("end s4");
        Assert.All(["end p1", "end p2", "end p3"], e => Assert.True(events.IndexOf(e) < s4Start, string.Join(", ", events)));
        Assert.Equal(s4Start + 1, s4End);
        Assert.True(events.IndexOf("start p5") > s4End, string.Join(", ", events));
        Assert.True(events.IndexOf("start p6") > s4End, string.Join(", ", events));
    }

    [Fact(Timeout = 60_000)]
    public async Task Commands_past_the_window_are_rejected_as_busy_and_the_rest_still_run()
    {
        // Arrange
        await using var hub = new ScriptedHub();
        var recorder = new RunRecorder { Hold = true };
        await using var agent = AgentHarness.Start(AgentHarness.Options(hub, _home.Path, capacity: 1, window: 2), recorder);
        var connection = await hub.NextConnectionAsync();
        await connection.WaitForAsync(m => m.Type == "hello");

        // Act
        await connection.AssignAsync("c1", seq: 1);
        await connection.AssignAsync("c2", seq: 2);
        await connection.AssignAsync("c3", seq: 3);
        var rejected = await connection.WaitForAsync("rejected", "c3");
        recorder.Release();
        await connection.WaitForAsync("completed", "c2");

        // Assert
        Assert.StartsWith("busy", rejected.Reason);
        Assert.Equal(0, recorder.Starts("c3"));
        Assert.Equal(1, recorder.Starts("c1"));
        Assert.Equal(1, recorder.Starts("c2"));
    }

    [Fact(Timeout = 60_000)]
    public async Task The_same_assignment_sent_twice_and_again_on_a_new_connection_runs_once()
    {
        // Arrange
        await using var hub = new ScriptedHub();
        var recorder = new RunRecorder();
        await using var agent = AgentHarness.Start(AgentHarness.Options(hub, _home.Path), recorder);
        var first = await hub.NextConnectionAsync();
        await first.WaitForAsync(m => m.Type == "hello");

        // Act
        await first.AssignAsync("c1", seq: 1);
        await first.AssignAsync("c1", seq: 1);
        await first.WaitForAsync("completed", "c1");
        first.Drop();
        var second = await hub.NextConnectionAsync();
        await second.WaitForAsync(m => m.Type == "hello");
        await second.AssignAsync("c1", seq: 1);
        var again = await second.WaitForAsync("completed", "c1");

        // Assert
        Assert.Equal(1, recorder.Starts("c1"));
        Assert.Equal("ran c1 for desktop", again.Result?.Stdout);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_handler_that_throws_is_reported_failed_with_a_message_and_never_left_running()
    {
        // Arrange
        await using var hub = new ScriptedHub();
        var recorder = new RunRecorder { Throw = new InvalidOperationException("the disk is on fire") };
        await using var agent = AgentHarness.Start(AgentHarness.Options(hub, _home.Path), recorder);
        var connection = await hub.NextConnectionAsync();
        await connection.WaitForAsync(m => m.Type == "hello");

        // Act
        await connection.AssignAsync("c1", seq: 1);
        await connection.AssignAsync("c2", seq: 2);
        var failed = await connection.WaitForAsync("failed", "c1");
        await connection.WaitForAsync("failed", "c2");

        // Assert
        Assert.Contains("'c1'", failed.Reason);
        Assert.Contains("the disk is on fire", failed.Reason);
        Assert.Equal("error", failed.Result?.Status);
    }
}
