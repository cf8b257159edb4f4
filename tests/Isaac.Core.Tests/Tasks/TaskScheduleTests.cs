using Isaac.Core.Devices;
using Isaac.Core.Plugins;
using Isaac.Core.Tests.Support;
using Isaac.Core.Wire;
using Microsoft.Extensions.Time.Testing;

namespace Isaac.Core.Tests.Tasks;

/// <summary>The wake retry schedule of a task (docs/tasks.md) on a fake clock: a real agent, dispatcher and task program.</summary>
public sealed class TaskScheduleTests : IDisposable
{
    private readonly TempDir _home = new();

    public void Dispose() => _home.Dispose();

    private int Wakes => TaskFixture.Wakes(_home.Path, "t1");

    [Fact(Timeout = 120_000)]
    public async Task A_wake_that_fails_twice_is_retried_after_5_then_15_seconds_and_the_task_then_works()
    {
        // Arrange: the default schedule (5 s, 15 s, 30 s); the first two wakes fail.
        TaskFixture.Add(_home.Path, "fail-2");
        var catalog = await TestManifests.CatalogAsync(_home.Combine("commands"));
        var dispatcher = Some.Dispatcher(catalog, new PluginCatalog());
        var time = new FakeTimeProvider();
        var logger = new ListLogger<DeviceAgent>();
        await using var hub = new ScriptedHub();
        var options = AgentHarness.Options(hub, _home.Path) with { Heartbeat = TimeSpan.FromHours(1) }; // no pings while the clock jumps
        await using var agent = new DeviceAgent(options, catalog,
            (text, origin, cancellationToken) => dispatcher.DispatchAsync(text, Some.Session(origin) with { IsaacHome = _home.Path }, _home.Path, cancellationToken),
            time, logger);
        agent.Start();
        var connection = await hub.NextConnectionAsync(TimeSpan.FromSeconds(60));
        await connection.WaitForAsync(m => m.Type == "hello", TimeSpan.FromSeconds(60));

        // Act
        await connection.AssignAsync("t1", seq: 1, text: "/job x");
        await AgentHarness.WaitUntilAsync(() => logger.Lines.Any(l => l.Contains("next attempt in 5 s", StringComparison.Ordinal)), "the first wake fails", TimeSpan.FromSeconds(60));
        var wakesBeforeFiveSeconds = Wakes;
        time.Advance(TimeSpan.FromSeconds(5));
        await AgentHarness.WaitUntilAsync(() => logger.Lines.Any(l => l.Contains("next attempt in 15 s", StringComparison.Ordinal)), "the second wake fails", TimeSpan.FromSeconds(60));
        var wakesBeforeFifteenSeconds = Wakes;
        time.Advance(TimeSpan.FromSeconds(15));

        // The agent batches what it reports while it still has work (a few fake milliseconds): the clock moves on a little.
        await AgentHarness.WaitUntilAsync(() =>
        {
            time.Advance(TimeSpan.FromMilliseconds(10));
            return connection.Received.Any(m => m is { Type: "running", Id: "t1", Phase: TaskPhase.Working });
        }, "the third wake works and the task confirms", TimeSpan.FromSeconds(60));

        // Assert
        Assert.Equal(1, wakesBeforeFiveSeconds);
        Assert.Equal(2, wakesBeforeFifteenSeconds);
        Assert.Equal(3, Wakes);
        Assert.DoesNotContain(logger.Lines, l => l.Contains("next attempt in 30 s", StringComparison.Ordinal));
    }
}
