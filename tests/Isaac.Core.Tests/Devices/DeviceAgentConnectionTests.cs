using System.Diagnostics;
using System.Net;
using Isaac.Core.Devices;
using Isaac.Core.Manifests;
using Isaac.Core.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Isaac.Core.Tests.Devices;

/// <summary>The agent's side of the connection contract: hello, heartbeats, refusals, one server per machine.</summary>
public sealed class DeviceAgentConnectionTests : IDisposable
{
    private readonly TempDir _home = new();

    public void Dispose() => _home.Dispose();

    [Fact(Timeout = 60_000)]
    public async Task Hello_carries_capacity_window_heartbeat_and_the_unfinished_commands_held()
    {
        // Arrange
        await using var hub = new ScriptedHub();
        var recorder = new RunRecorder { Hold = true };
        var options = AgentHarness.Options(hub, _home.Path, capacity: 3, window: 7);
        await using var agent = AgentHarness.Start(options, recorder);
        var first = await hub.NextConnectionAsync();
        await first.WaitForAsync(m => m.Type == "hello");
        await first.AssignAsync("c1", seq: 1);
        await first.AssignAsync("c2", seq: 2);
        await first.WaitForAsync("running", "c1");

        // Act
        first.Drop();
        var second = await hub.NextConnectionAsync();
        var hello = await second.WaitForAsync(m => m.Type == "hello");
        recorder.Release();

        // Assert
        Assert.Equal(3, hello.Capacity);
        Assert.Equal(7, hello.Window);
        Assert.Equal(3000, hello.HeartbeatMs);
        Assert.Equal(["c1", "c2"], hello.Holding);
        Assert.Contains("Authorization: Bearer isk_test", second.Request);
        Assert.Contains("GET /v1/agent ", second.Request);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_agent_pings_every_heartbeat_and_stays_connected_while_the_hub_answers()
    {
        // Arrange
        await using var hub = new ScriptedHub();
        var options = AgentHarness.Options(hub, _home.Path) with { Heartbeat = TimeSpan.FromMilliseconds(500) };
        var log = new ListLogger<DeviceAgent>();
        await using var agent = AgentHarness.Start(options, new RunRecorder(), logger: log);
        var connection = await hub.NextConnectionAsync();

        // Act
        await AgentHarness.WaitUntilAsync(() => connection.Received.Count(m => m.Type == "ping") >= 4, "four pings arrived");

        // Assert
        Assert.False(connection.Closed.IsCompleted, string.Join("\n", log.Lines));
        Assert.Single(hub.Connections);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_silent_hub_is_given_up_on_and_the_agent_reconnects()
    {
        // Arrange
        await using var hub = new ScriptedHub { AnswerPings = false };
        var options = AgentHarness.Options(hub, _home.Path) with { Heartbeat = TimeSpan.FromMilliseconds(300) };
        await using var agent = AgentHarness.Start(options, new RunRecorder());
        var silent = await hub.NextConnectionAsync();

        // Act
        var next = await hub.NextConnectionAsync();

        // Assert
        await silent.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains(silent.Received, m => m.Type == "ping");
        await next.WaitForAsync(m => m.Type == "hello");
    }

    [Fact(Timeout = 60_000)]
    public async Task With_the_default_heartbeat_a_hub_silent_for_two_heartbeats_after_a_ping_is_dropped_on_a_fake_clock()
    {
        // Arrange: the default 5 s heartbeat, on a clock the test moves.
        var time = new FakeTimeProvider();
        await using var hub = new ScriptedHub { AnswerPings = false };
        var options = AgentHarness.Options(hub, _home.Path) with { Heartbeat = AgentOptions.DefaultHeartbeat };
        await using var agent = new DeviceAgent(options, CommandCatalog.Empty, new RunRecorder().RunAsync, time);
        agent.Start();
        var silent = await hub.NextConnectionAsync();
        await silent.WaitForAsync(m => m.Type == "hello");

        // Act: nine fake seconds are not enough (one ping, the hub silent for under two heartbeats) ...
        for (var i = 0; i < 9; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(20);
        }

        // (the heartbeat timer may have started only after those seconds: then more pass, slowly, until it pings)
        var waiting = Stopwatch.StartNew();
        while (!silent.Received.Any(m => m.Type == "ping"))
        {
            if (waiting.Elapsed > TimeSpan.FromSeconds(1))
            {
                time.Advance(TimeSpan.FromSeconds(1));
                waiting.Restart();
            }

            await Task.Delay(20);
        }

        var droppedEarly = silent.Closed.IsCompleted;

        // ... and then the agent gives up and reconnects.
        while (hub.Connections.Count < 2)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(20);
        }

        // Assert
        Assert.False(droppedEarly);
        await silent.Closed.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact(Timeout = 60_000)]
    public async Task Malformed_and_unexpected_messages_are_ignored_and_the_agent_keeps_serving()
    {
        // Arrange
        await using var hub = new ScriptedHub();
        var recorder = new RunRecorder();
        await using var agent = AgentHarness.Start(AgentHarness.Options(hub, _home.Path), recorder);
        var connection = await hub.NextConnectionAsync();
        await connection.WaitForAsync(m => m.Type == "hello");

        // Act
        await connection.SendRawAsync("{ this is not json");
        await connection.SendRawAsync("""{"no_type":true}""");
        await connection.SendRawAsync("""{"type":"teleport","id":"x"}""");
        await connection.SendRawAsync("""{"type":"assign","id":"c0"}""");
        await connection.SendRawAsync("""{"type":"assign","id":"c9","text":"c9","sender":"desktop","seq":"nine"}""");
        await connection.AssignAsync("c1", seq: 1);
        await connection.WaitForAsync("completed", "c1");

        // Assert
        Assert.Single(hub.Connections);
        Assert.Equal(["start c1", "end c1"], recorder.Events);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_409_from_the_hub_makes_the_agent_say_so_once_wait_with_back_off_and_connect_once_it_is_free()
    {
        // Arrange
        await using var hub = new ScriptedHub { RefuseWith = HttpStatusCode.Conflict };
        var log = new ListLogger<DeviceAgent>();
        await using var agent = AgentHarness.Start(AgentHarness.Options(hub, _home.Path), new RunRecorder(), logger: log);

        // Act
        await AgentHarness.WaitUntilAsync(() => hub.Refusals >= 3, "three refusals");
        hub.RefuseWith = null;
        var connection = await hub.NextConnectionAsync();

        // Assert
        await connection.WaitForAsync(m => m.Type == "hello");
        Assert.Single(log.Lines, line => line.Contains("Device 'laptop2' is already served by another agent; waiting", StringComparison.Ordinal));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(HttpStatusCode.Unauthorized)]
    [InlineData(HttpStatusCode.Forbidden)]
    public async Task A_refused_token_is_tried_a_bounded_number_of_times_then_the_agent_stops_saying_so_once(HttpStatusCode refusal)
    {
        // Arrange
        await using var hub = new ScriptedHub { RefuseWith = refusal };
        var log = new ListLogger<DeviceAgent>();
        var options = AgentHarness.Options(hub, _home.Path) with { MaxReconnect = TimeSpan.FromMilliseconds(200), MaxTokenRefusals = 3 };
        await using var agent = new DeviceAgent(options, CommandCatalog.Empty, new RunRecorder().RunAsync, logger: log);
        var notices = new List<string>();
        using var subscription = agent.Notices.Subscribe(notices.Add);

        // Act: RunAsync returns by itself, without cancellation
        await agent.RunAsync(CancellationToken.None);

        // Assert
        Assert.True(agent.TokenRefused);
        Assert.Equal(3, hub.Refusals);
        var line = Assert.Single(log.Lines, line => line.Contains("ISAAC_TOKEN", StringComparison.Ordinal));
        Assert.StartsWith("Error:", line);
        Assert.Contains($"(HTTP {(int)refusal})", line);
        Assert.Contains("device 'laptop2'", line);
        Assert.Contains(hub.Address.ToString(), line);
        Assert.Equal(line["Error: ".Length..], Assert.Single(notices));
    }

    [Fact(Timeout = 60_000)]
    public async Task Two_agents_on_one_home_elect_one_server_and_the_other_takes_over_when_it_stops()
    {
        // Arrange
        await using var hub = new ScriptedHub();
        var firstRuns = new RunRecorder();
        var secondRuns = new RunRecorder();
        var options = AgentHarness.Options(hub, _home.Path);
        var first = AgentHarness.Start(options, firstRuns);
        var connection = await hub.NextConnectionAsync();
        await connection.WaitForAsync(m => m.Type == "hello");
        await using var second = AgentHarness.Start(options, secondRuns);
        var secondStates = new List<AgentState>();
        using var watch = second.States.Subscribe(state => { lock (secondStates) { secondStates.Add(state); } });
        await AgentHarness.WaitUntilAsync(() => { lock (secondStates) { return secondStates.Contains(AgentState.WaitingForLock); } }, "the second agent waits");
        await connection.AssignAsync("c1", seq: 1);
        await connection.WaitForAsync("completed", "c1");

        // Act
        await first.DisposeAsync();
        var takeover = await hub.NextConnectionAsync();
        await takeover.WaitForAsync(m => m.Type == "hello");
        await takeover.AssignAsync("c1", seq: 1);
        await takeover.AssignAsync("c2", seq: 2);
        await takeover.WaitForAsync("completed", "c2");
        var repeated = await takeover.WaitForAsync("completed", "c1");

        // Assert
        Assert.Equal(2, hub.Connections.Count);
        Assert.Equal(["start c1", "end c1"], firstRuns.Events);
        Assert.Equal(["start c2", "end c2"], secondRuns.Events);
        Assert.Equal("ran c1 for desktop", repeated.Result?.Stdout);
    }
}
