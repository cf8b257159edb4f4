using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Hub;

/// <summary>One agent per device, and presence by heartbeat deadline, against a real hub process.</summary>
public sealed class HubLeaseTests : IDisposable
{
    // Each test runs against every hub engine (HubEngines): its harness is made for the engine it is given.
    private HubHarness _hub = null!;

    public void Dispose() => _hub?.Dispose();

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(HubEngines.All), MemberType = typeof(HubEngines))]
    public async Task A_second_connection_for_a_served_device_is_refused_with_409_problem_details_and_the_first_keeps_working(string engine)
    {
        _hub = new HubHarness(engine);
        // Arrange
        await _hub.AddDevicesAsync("laptop2", "desktop");
        await _hub.StartHubAsync();
        await using var first = await _hub.ConnectAgentAsync("laptop2");
        await first.HelloAsync(window: 1);
        await first.DrainAsync();
        using var http = _hub.Http("laptop2");
        using var sender = _hub.Http("desktop");

        // Act
        var upgrade = await ScriptedAgent.TryConnectAsync(_hub.Address, _hub.Token("laptop2"));
        using var plain = await http.GetAsync("/v1/agent");
        using var problem = JsonDocument.Parse(await plain.Content.ReadAsStringAsync());
        var routed = await HubApi.RouteAsync(sender, "laptop2", "/sysinfo");
        var assigned = await first.DrainAsync();

        // Assert
        Assert.Equal(HttpStatusCode.Conflict, upgrade);
        Assert.Equal(HttpStatusCode.Conflict, plain.StatusCode);
        Assert.Equal("application/problem+json", plain.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Device already served", problem.RootElement.GetProperty("title").GetString());
        Assert.Contains("'laptop2'", problem.RootElement.GetProperty("detail").GetString());
        Assert.Equal(409, problem.RootElement.GetProperty("status").GetInt32());
        var assign = Assert.Single(assigned);
        Assert.Equal(("assign", routed.Id), (assign.Type, assign.Id));
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(HubEngines.All), MemberType = typeof(HubEngines))]
    public async Task A_silent_agent_is_dropped_within_two_heartbeats_and_its_device_can_connect_again(string engine)
    {
        _hub = new HubHarness(engine);
        // Arrange
        await _hub.AddDevicesAsync("laptop2");
        await _hub.StartHubAsync();
        using var http = _hub.Http("laptop2");
        await using var silent = await _hub.ConnectAgentAsync("laptop2");
        await silent.HelloAsync(window: 1, heartbeatMs: 500);
        await silent.DrainAsync(); // the last thing it ever says
        var quiet = Stopwatch.StartNew();

        // Act
        await silent.WaitEndedAsync(TimeSpan.FromSeconds(15));
        var dropped = quiet.Elapsed;
        await HubApi.UntilAsync(async () => (await HubApi.DevicesAsync(http)).Single().Online is false, TimeSpan.FromSeconds(10), "laptop2 is offline");
        var offline = (await HubApi.DevicesAsync(http)).Single();
        await using var next = await _hub.ConnectAgentAsync("laptop2");
        await next.HelloAsync(window: 1);
        var answered = await next.DrainAsync();

        // Assert
        Assert.InRange(dropped, TimeSpan.FromMilliseconds(800), TimeSpan.FromMilliseconds(1000 + 4000)); // 2 × 500 ms, plus a loaded machine
        Assert.NotNull(offline.LastSeen);
        Assert.Empty(answered);
        Assert.True((await HubApi.DevicesAsync(http)).Single().Online);
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(HubEngines.All), MemberType = typeof(HubEngines))]
    public async Task An_agent_that_never_names_a_heartbeat_is_dropped_after_ten_seconds_of_silence(string engine)
    {
        _hub = new HubHarness(engine);
        // Arrange
        await _hub.AddDevicesAsync("laptop2");
        await _hub.StartHubAsync();
        await using var silent = await _hub.ConnectAgentAsync("laptop2");
        await silent.HelloAsync(window: 1);
        await silent.DrainAsync();
        var quiet = Stopwatch.StartNew();

        // Act
        await silent.WaitEndedAsync(TimeSpan.FromSeconds(30));

        // Assert
        Assert.InRange(quiet.Elapsed, TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(10 + 5)); // 2 × 5000 ms, plus a loaded machine
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(HubEngines.All), MemberType = typeof(HubEngines))]
    public async Task The_device_list_shows_presence_and_queued_and_in_flight_counts(string engine)
    {
        _hub = new HubHarness(engine);
        // Arrange
        await _hub.AddDevicesAsync("laptop2", "desktop");
        await _hub.StartHubAsync();
        using var sender = _hub.Http("desktop");
        var first = await HubApi.RouteAsync(sender, "laptop2", "/one");
        await HubApi.RouteAsync(sender, "laptop2", "/two");
        await HubApi.RouteAsync(sender, "laptop2", "/three");
        await using var agent = await _hub.ConnectAgentAsync("laptop2");
        await agent.HelloAsync(window: 1);
        await agent.DrainAsync();

        // Act
        await agent.SendAsync("accepted", first.Id);
        await agent.DrainAsync();
        var devices = await HubApi.DevicesAsync(sender);
        using var unauthenticated = _hub.Http();
        using var refused = await unauthenticated.GetAsync("/v1/devices");

        // Assert
        var laptop = Assert.Single(devices, d => d.Name == "laptop2");
        var desktop = Assert.Single(devices, d => d.Name == "desktop");
        Assert.Equal((true, 2, 1), (laptop.Online, laptop.Queued, laptop.InFlight));
        Assert.Equal((false, 0, 0, null), (desktop.Online, desktop.Queued, desktop.InFlight, desktop.LastSeen));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }
}
