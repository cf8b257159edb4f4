using System.Diagnostics;
using Isaac.Core.Tests.Support;
using Isaac.Core.Wire;

namespace Isaac.Core.Tests.Hub;

/// <summary>GET /v1/commands/{id}?wait_ms=N: wakes every waiter on a change and costs nothing once abandoned.</summary>
public sealed class HubLongPollTests : IDisposable
{
    // Each test runs against every hub engine (HubEngines): its harness is made for the engine it is given.
    private HubHarness _hub = null!;

    public void Dispose() => _hub?.Dispose();

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(HubEngines.All), MemberType = typeof(HubEngines))]
    public async Task Several_long_polls_on_one_command_return_promptly_when_it_finishes(string engine)
    {
        _hub = new HubHarness(engine);
        // Arrange
        await _hub.AddDevicesAsync("laptop2", "desktop");
        await _hub.StartHubAsync();
        using var sender = _hub.Http("desktop");
        await using var agent = await _hub.ConnectAgentAsync("laptop2");
        await agent.HelloAsync(window: 1);
        var routed = await HubApi.RouteAsync(sender, "laptop2", "/slow");
        await agent.DrainAsync();
        var polls = Enumerable.Range(0, 3).Select(_ => HubApi.GetAsync(sender, routed.Id, waitMs: 45_000)).ToArray();
        var early = await HubApi.GetAsync(sender, routed.Id); // the polls went out first, on their own connections

        // Act
        var finished = Stopwatch.StartNew();
        await agent.SendAsync(new AgentMessage { Type = "completed", Id = routed.Id, Result = new() { Stdout = "done" } });
        var answers = await Task.WhenAll(polls);

        // Assert
        Assert.Equal(RoutedStatus.Assigned, early.Status);
        Assert.All(answers, a => Assert.Equal((RoutedStatus.Completed, "done"), (a.Status, a.Result?.Stdout)));
        Assert.True(finished.Elapsed < TimeSpan.FromSeconds(10), $"the polls took {finished.Elapsed} after the change");
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(HubEngines.All), MemberType = typeof(HubEngines))]
    public async Task Aborted_long_polls_end_and_leave_the_hub_idle(string engine)
    {
        _hub = new HubHarness(engine);
        // Arrange
        await _hub.AddDevicesAsync("laptop2", "desktop");
        await _hub.StartHubAsync();
        using var sender = _hub.Http("desktop");
        var routed = await HubApi.RouteAsync(sender, "laptop2", "/never"); // laptop2 is offline: it never changes
        using var abandon = new CancellationTokenSource();
        var polls = Enumerable.Range(0, 20).Select(_ => HubApi.GetAsync(sender, routed.Id, waitMs: 60_000, abandon.Token)).ToArray();
        await HubApi.GetAsync(sender, routed.Id); // the polls went out first, on their own connections

        // Act
        abandon.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.WhenAll(polls));
        var hub = _hub.HubProcess!;
        hub.Refresh();
        var before = hub.TotalProcessorTime;
        var window = Stopwatch.StartNew();
        await Task.Delay(2000); // a measurement window, not a wait for a condition
        hub.Refresh();
        var used = hub.TotalProcessorTime - before;
        var answer = await HubApi.GetAsync(sender, routed.Id, waitMs: 200);

        // Assert
        Assert.True(used < window.Elapsed / 4, $"the hub used {used.TotalMilliseconds} ms of CPU in {window.Elapsed.TotalMilliseconds} ms after the polls were abandoned");
        Assert.Equal(RoutedStatus.Accepted, answer.Status);
    }
}
