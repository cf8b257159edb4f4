using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Isaac.Core.Devices;
using Isaac.Core.Dispatch;
using Isaac.Core.Manifests;
using Isaac.Core.Queue;
using Isaac.Core.Routing;
using Isaac.Core.Sync;
using Isaac.Core.Wire;
using Isaac.Hub;
using Isaac.Plugins;
using Microsoft.AspNetCore.Builder;

namespace Isaac.Benchmarks;

/// <summary>
/// Routed commands on the product's own path — queued at the sender (fsync), drained by the sync pipeline, stored at a
/// real hub (in this process, on loopback), handed to a real device agent over its WebSocket, stored there, run in
/// order, reported back — against the hub's bare <c>GET /health</c> measured in the same run.
/// </summary>
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

        // The device answers at once: what is measured is the delivery path (queue, pipeline, hub, agent, stores), not a handler.
        var ran = 0;
        var agent = new DeviceAgent(
            new AgentOptions { Hub = new Uri(address), Token = agentToken, Device = "laptop2", Home = Path.Combine(work, "laptop2") },
            CommandCatalog.Empty,
            (text, _, _) => { Interlocked.Increment(ref ran); return Task.FromResult(new CommandResult { Command = "noop", Stdout = text }); });

        using var client = new HubClient(new Uri(address), senderToken);
        await using var queue = new CommandQueue(Path.Combine(work, "desktop", "queue.db"), QueueOptions.Default with { SoftLimit = int.MaxValue });
        await using var connectivity = new ConnectivityMonitor(client.IsAvailableAsync);
        await using var sync = new SyncPipeline(queue, client, connectivity, Path.Combine(work, "desktop", "sync.lock"));
        var router = new DeviceRouter(CommandCatalog.Empty, queue, client, sync, connectivity);
        using var http = new HttpClient { BaseAddress = new Uri(address) };
        var count = quick ? 100 : 500;

        // A device coming back to a backlog: commands wait at the hub, then the agent connects.
        for (var i = 0; i < count; i++)
        {
            await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.DeviceRoute, Text = $"/noop backlog {i}", Target = "laptop2" });
        }

        await sync.SyncNowAsync();
        var connected = Stopwatch.StartNew();
        agent.Start();
        await WaitAsync(() => Volatile.Read(ref ran) >= 1);
        var firstRun = connected.Elapsed;
        await WaitAsync(() => Volatile.Read(ref ran) >= count);
        var backlog = connected.Elapsed;

        // One at a time, as typed at the prompt: each route is queued, drained and waited for until its result is back.
        var health = await Measure.InProcessAsync(count, () => http.GetStringAsync("/health"));
        var total = Stopwatch.StartNew();
        var routed = await Measure.InProcessAsync(count, () => router.RouteAsync(new RouteRequest
        {
            Target = "laptop2",
            Text = "/noop",
            UniqueKey = Guid.NewGuid().ToString("N"),
            Deadline = DateTimeOffset.UtcNow.AddSeconds(10),
        }));
        var oneAtATime = count * 2 / total.Elapsed.TotalSeconds;

        // A backlog replayed after an outage: sequential commands for one device, queued, then one drain; done when the device ran the last.
        var before = Volatile.Read(ref ran);
        for (var i = 0; i < count; i++)
        {
            await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.DeviceRoute, Text = $"/noop replay {i}", Target = "laptop2" });
        }

        var replay = Stopwatch.StartNew();
        await sync.SyncNowAsync();
        await WaitAsync(() => Volatile.Read(ref ran) >= before + count);
        var replayed = replay.Elapsed;

        report.Section("Routed command, the product's path",
            $"{count:N0} each after warm-up: DeviceRouter.RouteAsync (queue insert with fsync, sync pipeline drain, POST /v1/commands/batch, hub store, WebSocket assign, agent store, run, result, long-poll) against GET /health on the same server. " +
            $"One at a time: {oneAtATime:N0} routed commands/s (warm-up included).",
            ("GET /health on the same server (floor)", health, health),
            ("routed command, typed to result", routed, health));
        report.Text($"Replay after an outage: {count:N0} sequential commands queued for one device, then one drain: the device ran the last after {replayed.TotalSeconds:0.00} s, " +
            $"{count / replayed.TotalSeconds:N0} routed commands/s end to end ({replayed.TotalMilliseconds / count / (health.P50 / 1000):0} × a /health round trip per command).");
        report.Text($"A device reconnecting to a backlog of {count:N0}: first command run {firstRun.TotalMilliseconds:N0} ms after the agent started (connect, lock, hello, assign), all run after {backlog.TotalSeconds:0.00} s.");

        await agent.DisposeAsync();
        await app.StopAsync();
    }

    private static async Task WaitAsync(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(5))
            {
                throw new TimeoutException("the benchmark's commands did not all run within 5 minutes");
            }

            await Task.Delay(5);
        }
    }
}
