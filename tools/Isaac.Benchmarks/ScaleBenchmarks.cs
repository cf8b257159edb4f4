using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using Isaac.Core.Tests.Support;
using Isaac.Core.Wire;
using Isaac.Hub;

namespace Isaac.Benchmarks;

/// <summary>
/// Many devices on one or two hubs: 1,000 simulated device agents as real WebSocket connections (agent protocol 2)
/// from this process, against real <c>isaac hub</c> processes — one on SQLite, one on PostgreSQL, two sharing
/// PostgreSQL. Senders post commands to random devices (round-robin over the hubs) and long-poll each result;
/// the floor is <c>GET /health</c> at the same concurrency on the same hubs.
/// </summary>
internal static class ScaleBenchmarks
{
    private const int Senders = 32;

    public static async Task RunAsync(Report report, string work, bool quick, string isaacExe)
    {
        var devices = quick ? 200 : 1_000;
        var commands = quick ? 1_000 : 4_000;
        var rows = new List<string>();
        foreach (var (name, engine, hubs) in new[] { ("one SQLite hub", "sqlite", 1), ("one PostgreSQL hub", "postgres", 1), ("two PostgreSQL hubs", "postgres", 2) })
        {
            var result = await RunCaseAsync(Path.Combine(work, $"scale-{engine}-{hubs}"), isaacExe, engine, hubs, devices, commands);
            await Console.Error.WriteLineAsync($"scale, {name}: {result.Rate:N0} routed/s, p50 {result.P50:0.0} ms, p99 {result.P99:0.0} ms, /health {result.Health:N0}/s, {result.KibPerDevice:0.0} KiB/device, reconnect {result.Reconnect.TotalSeconds:0.0} s");
            rows.Add($"| {name} | **{result.Rate:N0}** | {result.Health:N0} | {result.Health / result.Rate:0.0}× | {result.P50:0.0} / {result.P99:0.0} ms | {result.KibPerDevice:0.0} KiB | {result.Reconnect.TotalSeconds:0.0} s |");
        }

        report.Text($"Scale: {devices:N0} simulated device agents (real WebSockets, protocol 2, window 8, from one process) on real `isaac hub` processes; " +
            $"{Senders} concurrent senders post {commands:N0} commands to random devices, round-robin over the hubs, and long-poll each result. " +
            "Floor: `GET /health` at the same concurrency on the same hubs. Memory is the hub processes' working set growth per connected device; " +
            "reconnect is the time from SIGKILL of every hub and their restart until every device has its welcome again.");
        report.Text("| hubs | routed commands/s | /health/s (floor) | floor ÷ routed | p50 / p99 post → result | memory per device | reconnect after restart |\n|---|---:|---:|---:|---:|---:|---:|\n" + string.Join("\n", rows));
    }

    private sealed record CaseResult(double Rate, double Health, double P50, double P99, double KibPerDevice, TimeSpan Reconnect);

    private static async Task<CaseResult> RunCaseAsync(string folder, string isaacExe, string engine, int hubCount, int deviceCount, int commandCount)
    {
        Directory.CreateDirectory(folder);
        var store = engine == "postgres" ? PostgresCluster.Shared.CreateDatabase() : null;
        var names = Enumerable.Range(0, deviceCount).Select(i => $"dev{i}").ToArray();
        var tokens = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var setup = HubStores.Open(new HubOptions { DataDirectory = folder, Store = store }))
        {
            foreach (var name in names.Append("sender"))
            {
                tokens[name] = setup.AddDevice(name, replace: false);
            }
        }

        var addresses = Enumerable.Range(0, hubCount).Select(_ => FreeAddress()).ToArray();
        var hubs = addresses.Select(a => StartHub(isaacExe, folder, store, a)).ToArray();
        using var stop = new CancellationTokenSource();
        try
        {
            await Task.WhenAll(addresses.Select(WaitHealthyAsync));
            var before = hubs.Sum(h => { h.Refresh(); return h.WorkingSet64; });
            var welcomed = new CountdownCounter();
            var agents = names.Select((name, i) => DeviceLoopAsync(addresses, i % hubCount, tokens[name], welcomed, stop.Token)).ToArray();
            await welcomed.UntilAsync(deviceCount, TimeSpan.FromMinutes(3));
            var after = hubs.Sum(h => { h.Refresh(); return h.WorkingSet64; });

            var clients = addresses.Select(a => new HttpClient { BaseAddress = new Uri(a), Timeout = TimeSpan.FromSeconds(60) }).ToArray();
            foreach (var client in clients)
            {
                client.DefaultRequestHeaders.Authorization = new("Bearer", tokens["sender"]);
            }

            var health = await RateAsync(commandCount, async i => (await clients[i % hubCount].GetAsync("/health")).Dispose());
            var latencies = new ConcurrentBag<double>();
            var rate = await RateAsync(commandCount, async i =>
            {
                var client = clients[i % hubCount];
                var started = Stopwatch.GetTimestamp();
                var body = new RouteBody { Target = names[Random.Shared.Next(deviceCount)], Text = "/noop", UniqueKey = Guid.NewGuid().ToString("N") };
                using var posted = await client.PostAsJsonAsync("/v1/commands", body, HubJson.Default.RouteBody);
                var record = await posted.Content.ReadFromJsonAsync(HubJson.Default.CommandRecord) ?? throw new InvalidOperationException("no record");
                while (!RoutedStatus.IsFinal(record.Status))
                {
                    record = await client.GetFromJsonAsync($"/v1/commands/{record.Id}?wait_ms=10000", HubJson.Default.CommandRecord) ?? throw new InvalidOperationException("no record");
                }

                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            });

            // Every hub dies at once and comes back; devices reconnect with their own back-off.
            foreach (var hub in hubs)
            {
                hub.Kill();
                hub.WaitForExit();
            }

            await welcomed.UntilAsync(0, TimeSpan.FromMinutes(1));
            var restart = Stopwatch.StartNew();
            hubs = addresses.Select(a => StartHub(isaacExe, folder, store, a)).ToArray();
            await welcomed.UntilAsync(deviceCount, TimeSpan.FromMinutes(3));
            var reconnect = restart.Elapsed;

            await stop.CancelAsync();
            await Task.WhenAll(agents);
            var sorted = latencies.Order().ToArray();
            return new CaseResult(rate, health, sorted[sorted.Length / 2], sorted[(int)(sorted.Length * 0.99)], (after - before) / 1024.0 / deviceCount, reconnect);
        }
        finally
        {
            foreach (var hub in hubs)
            {
                if (!hub.HasExited)
                {
                    hub.Kill();
                }
            }
        }
    }

    private static async Task<double> RateAsync(int count, Func<int, Task> one)
    {
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Senders).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) is var i && i < count)
            {
                await one(i);
            }
        }));
        return count / clock.Elapsed.TotalSeconds;
    }

    // A device agent reduced to the protocol: hello (version 2), and every assignment answered at once as completed.
    private static async Task DeviceLoopAsync(string[] addresses, int first, string token, CountdownCounter welcomed, CancellationToken stop)
    {
        var attempt = first;
        while (!stop.IsCancellationRequested)
        {
            var greeted = false;
            using var socket = new ClientWebSocket();
            socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
            socket.Options.KeepAliveInterval = TimeSpan.Zero;
            try
            {
                var address = new UriBuilder(addresses[attempt % addresses.Length]) { Scheme = "ws", Path = "/v1/agent" }.Uri;
                await socket.ConnectAsync(address, stop);
                var channel = new AgentChannel(socket);
                await channel.SendAsync(new AgentMessage { Type = "hello", Version = AgentProtocol.Current, Window = 8, Capacity = 8, HeartbeatMs = 600_000 }, stop);
                while (await channel.ReceiveAsync(stop) is { } message)
                {
                    if (message.Type == "welcome" && !greeted)
                    {
                        greeted = true;
                        welcomed.Add(1);
                    }
                    else if (message.Type == "assign_batch")
                    {
                        var reports = (message.Commands ?? []).Select(c => new AgentMessage { Type = "completed", Id = c.Id, Result = new() { Stdout = "ok" } }).ToList();
                        await channel.SendAsync(new AgentMessage { Type = "report", Reports = reports }, stop);
                    }
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or HttpRequestException)
            {
                // the hub died or refused (409 while another hub's lease lasts): try the next one after a pause
            }
            finally
            {
                if (greeted)
                {
                    welcomed.Add(-1);
                }
            }

            attempt++;
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200 + Random.Shared.Next(300)), stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static Process StartHub(string isaacExe, string folder, string? store, string address)
    {
        var start = new ProcessStartInfo(isaacExe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["hub", "--urls", address, "--data", folder, .. store is null ? (string[])[] : ["--store", store]])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["ISAAC_HOME"] = Path.Combine(folder, "home-" + new Uri(address).Port);
        var process = Process.Start(start) ?? throw new InvalidOperationException("isaac hub did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitHealthyAsync(string address)
    {
        using var http = new HttpClient();
        for (var i = 0; i < 600; i++)
        {
            try
            {
                if ((await http.GetAsync(address + "/health")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                await Task.Delay(50);
            }
        }

        throw new InvalidOperationException($"the hub at {address} did not start");
    }

    private static string FreeAddress()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}";
    }

    private sealed class CountdownCounter
    {
        private int _value;

        public void Add(int delta) => Interlocked.Add(ref _value, delta);

        public async Task UntilAsync(int target, TimeSpan within)
        {
            var deadline = Stopwatch.StartNew();
            while (Volatile.Read(ref _value) != target)
            {
                if (deadline.Elapsed > within)
                {
                    throw new TimeoutException($"{Volatile.Read(ref _value)} devices connected, waiting for {target}");
                }

                await Task.Delay(20);
            }
        }
    }
}
