using System.Net;
using System.Net.Sockets;
using Isaac.Core.Tests.Support;
using Isaac.Core.Wire;
using Isaac.Hub;
using Isaac.Plugins;

namespace Isaac.Core.Tests.Hub;

/// <summary>A shell's hub client given several hubs (ISAAC_HUB=a,b) moves to the next when its hub cannot be reached.</summary>
public sealed class HubClientFailoverTests
{
    [Fact(Timeout = 60_000)]
    public async Task A_call_that_cannot_reach_the_first_hub_moves_the_next_call_to_the_second()
    {
        // Arrange: the first address has nothing listening; the second is a real hub.
        using var dir = new TempDir();
        string token;
        using (var setup = new HubStore(dir.Path))
        {
            token = setup.AddDevice("desktop", replace: false);
            setup.AddDevice("laptop2", replace: false);
        }

        var (dead, live) = (FreeAddress(), FreeAddress());
        var options = new HubOptions { DataDirectory = dir.Path, Urls = live.ToString().TrimEnd('/') };
        await using var hub = HubServer.Build(options);
        await HubServer.StartAsync(hub, options);
        using var client = new HubClient([dead, live], token);

        // Act
        var first = await client.IsAvailableAsync();
        var second = await client.IsAvailableAsync();
        var routed = await client.RouteAsync(new RouteRequest { Target = "laptop2", Text = "/one", UniqueKey = "k1" });

        // Assert
        Assert.False(first);
        Assert.True(second);
        Assert.Equal(live, client.Address);
        Assert.Equal(RoutedStatus.Accepted, routed.Command?.Status);
    }

    private static Uri FreeAddress()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return new Uri($"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}/");
    }
}
