using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Isaac.Core.Devices;
using Isaac.Core.Dispatch;
using Isaac.Core.Hub;
using Isaac.Core.Manifests;
using Isaac.Hub;
using Isaac.Plugins;
using Microsoft.AspNetCore.Builder;

namespace Isaac.Benchmarks;

/// <summary>Routed commands through a real hub (in this process, on loopback) to a real agent, vs. the hub's bare /health endpoint.</summary>
internal static class HubBenchmarks
{
    public static async Task RunAsync(Report report, string work, bool quick)
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var address = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}";
        probe.Stop();

        var options = new HubOptions { DataDirectory = Path.Combine(work, "hub"), Urls = address };
        string senderToken, agentToken;
        using (var store = new HubStore(options.DataDirectory))
        {
            senderToken = store.AddDevice("desktop", replace: false);
            agentToken = store.AddDevice("laptop2", replace: false);
        }

        await using var app = HubServer.Build(options);
        await app.StartAsync();

        // The agent answers at once: what is measured is the hub, the WebSocket and both stores, not a handler.
        using var stop = new CancellationTokenSource();
        var agent = new DeviceAgent(new AgentOptions { Hub = new Uri(address), Token = agentToken, Device = "laptop2", Home = Path.Combine(work, "agent"), Capacity = 64 }, CommandCatalog.Empty,
            (text, _, _) => Task.FromResult(new CommandResult { Command = "noop", Stdout = text }));
        var agentRun = agent.RunAsync(stop.Token);
        using var client = new HubClient(new Uri(address), senderToken);
        using var http = new HttpClient { BaseAddress = new Uri(address) };
        await Task.Delay(500);

        var count = quick ? 100 : 1_000;
        var health = await Measure.InProcessAsync(count, () => http.GetStringAsync("/health"));
        var total = Stopwatch.StartNew();
        var routed = await Measure.InProcessAsync(count, async () =>
        {
            var outcome = await client.RouteAsync(new RouteRequest { Target = "laptop2", Text = "/noop", UniqueKey = Guid.NewGuid().ToString("N") });
            return await client.WaitAsync(outcome.Command!.Id, TimeSpan.FromSeconds(10));
        });
        var elapsed = total.Elapsed;

        report.Section("Routed command round trip",
            $"Sequential, {count:N0} each after warm-up (warm-up included in the rate): POST /v1/commands, hub → agent over WebSocket (persisted on both sides, fsync), agent → hub result, long-poll GET answers. Rate {count * 2 / elapsed.TotalSeconds:N0} routed commands/s (one at a time).",
            ("GET /health on the same server (floor)", health, health),
            ("routed command, sent to result", routed, health));

        await stop.CancelAsync();
        await agentRun;
        await app.StopAsync();
    }
}
