using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Delivery;

/// <summary><c>/devices</c> at the prompt, against a real hub and agent.</summary>
public sealed class DevicesCommandTests : IDisposable
{
    private readonly HubHarness _hub = new();

    public void Dispose() => _hub.Dispose();

    [Fact(Timeout = 90_000)]
    public async Task Devices_lists_every_device_with_its_state_and_counts_and_the_last_known_list_when_the_hub_is_away()
    {
        // Arrange: laptop2 is served by an agent, nas never connected
        await _hub.AddDevicesAsync("desktop", "laptop2", "nas");
        await _hub.StartHubAsync();
        _hub.StartAgent("laptop2");
        string live;
        do
        {
            live = (await _hub.RunAsync("desktop", "/devices")).Stdout;
        }
        while (!live.Contains("online", StringComparison.Ordinal));

        // Act: the hub goes away and a route waits here for nas
        _hub.KillHub();
        await _hub.RunAsync("desktop", "!nas /sysinfo");
        var offline = await _hub.RunAsync("desktop", "/devices");

        // Assert
        Assert.Contains("laptop2", live);
        Assert.Contains("never seen", live);
        Assert.Contains("The hub cannot be reached", offline.Stdout);
        Assert.DoesNotContain("online", offline.Stdout.Split('\n').Where(line => line.Contains("laptop2", StringComparison.Ordinal)).Single());
        var nas = offline.Stdout.Split('\n').Single(line => line.Contains("nas", StringComparison.Ordinal));
        Assert.Matches(@"nas\W+never seen\W+1\W+\?\W+\?", nas); // one route waits here; the hub's counts are unknown
    }
}
