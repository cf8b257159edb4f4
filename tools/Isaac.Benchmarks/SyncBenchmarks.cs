using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Isaac.Core.Queue;
using Isaac.Core.Sync;
using Isaac.Core.Wire;
using Isaac.Hub;
using Isaac.Plugins;
using Microsoft.AspNetCore.Builder;

namespace Isaac.Benchmarks;

/// <summary>Sync: how soon a drain starts after the hub returns, and drain throughput with and without batching.</summary>
internal static class SyncBenchmarks
{
    public static async Task RunAsync(Report report, string work, bool quick)
    {
        ReconnectDelay(report);

        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var address = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}";
        probe.Stop();
        var options = new HubOptions { DataDirectory = Path.Combine(work, "sync-hub"), Urls = address };
        string token;
        using (var store = new HubStore(options.DataDirectory))
        {
            token = store.AddDevice("desktop", replace: false);
            store.AddDevice("device-0", replace: false);
        }

        await using var app = HubServer.Build(options);
        await app.StartAsync();
        using var client = new HubClient(new Uri(address), token);
        var count = quick ? 1_000 : 10_000;

        var batched = await DrainAsync(work, "batched", count, client, async queue =>
        {
            await using var connectivity = new ConnectivityMonitor(client.IsAvailableAsync);
            await using var sync = new SyncPipeline(queue, client, connectivity, Path.Combine(work, "batched.lock"));
            await sync.SyncNowAsync();
        });
        var single = await DrainAsync(work, "single", count, client, async queue =>
        {
            while (await queue.ClaimAsync(maxBatch: 1) is { Count: > 0 } batches)
            {
                foreach (var command in batches.SelectMany(b => b.Commands))
                {
                    await client.RouteAsync(new RouteRequest { Target = command.Target!, Text = command.Text, UniqueKey = command.UniqueKey });
                    await queue.MarkDoneAsync([command.Id]);
                }
            }
        });

        report.Text($"Drain of {count:N0} queued commands for one device, sequential as the product queues them, to a real hub on loopback (no agent connected, so this is delivery to the hub): " +
            $"batched (the sync pipeline, up to 100 per call) {count / batched.TotalSeconds:N0} commands/s in {batched.TotalSeconds:0.00} s; " +
            $"one request per command {count / single.TotalSeconds:N0} commands/s in {single.TotalSeconds:0.00} s; ratio {single.TotalSeconds / batched.TotalSeconds:0.0}×.");
        await app.StopAsync();
    }

    // How long after the hub answers again the next probe (and so the drain) starts, with the default schedule,
    // for outages of 10 s to 10 min: the monitor's own delay function, replayed in virtual time.
    private static void ReconnectDelay(Report report)
    {
        var random = new Random(2026);
        var schedules = new[] { ("default schedule (1 s → 8 s, jittered)", ConnectivityOptions.Default), ("offline_probe_max_seconds: 30 (the old default)", ConnectivityOptions.Default with { OfflineProbeMax = TimeSpan.FromSeconds(30) }) };
        foreach (var ((label, options), outage) in schedules.SelectMany(s => new[] { 10, 60, 600 }.Select(o => (s, o))))
        {
            var waits = new List<double>();
            for (var run = 0; run < 1_000; run++)
            {
                var monitor = new ConnectivityMonitor(_ => Task.FromResult(false), options, random: random) { WorkWaiting = true };
                var back = outage + random.NextDouble(); // the hub returns at a random moment
                var at = 0.0;
                while (at < back)
                {
                    monitor.Report(false, "down");
                    at += monitor.NextProbeDelay().TotalSeconds;
                }

                waits.Add(at - back);
            }

            var samples = new Samples(waits.Select(w => w * 1_000_000).ToArray());
            report.Text($"Hub back after a {outage} s outage ({label}, 1,000 replays): drain starts p50 {samples.P50 / 1e6:0.0} s, p99 {samples.P99 / 1e6:0.0} s after it answers.");
        }
    }

    private static async Task<TimeSpan> DrainAsync(string work, string name, int count, HubClient client, Func<CommandQueue, Task> drain)
    {
        await using var queue = new CommandQueue(Path.Combine(work, $"{name}.db"), QueueOptions.Default with { SoftLimit = int.MaxValue });
        for (var i = 0; i < count; i++)
        {
            await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.DeviceRoute, Text = $"/c {name} {i}", Target = "device-0" });
        }

        var clock = Stopwatch.StartNew();
        await drain(queue);
        var elapsed = clock.Elapsed;
        var left = (await queue.GetStatusAsync()).Queued;
        return left == 0 ? elapsed : throw new InvalidOperationException($"{left} commands were not delivered by the {name} drain");
    }
}
