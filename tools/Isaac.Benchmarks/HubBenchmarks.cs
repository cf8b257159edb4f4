using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Isaac.Core;
using Isaac.Core.Devices;
using Isaac.Core.Dispatch;
using Isaac.Core.Execution;
using Isaac.Core.Manifests;
using Isaac.Core.Plugins;
using Isaac.Core.Queue;
using Isaac.Core.Routing;
using Isaac.Core.Sync;
using Isaac.Core.Wire;
using Isaac.Hub;
using Isaac.Plugins;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;

namespace Isaac.Benchmarks;

/// <summary>
/// Routed commands on the product's own path — queued at the sender by <see cref="DeviceRouter"/> while the hub is
/// down, drained by the sync pipeline when it is back, stored at a real hub (in this process, on loopback), handed to
/// a real device agent over its WebSocket, stored there, run in order, reported back, and collected by the sender's
/// result inbox — against floors measured in the same run: the hub's bare <c>GET /health</c> and a bare fsync'd
/// SQLite transaction.
/// </summary>
internal static class HubBenchmarks
{
    /// <summary>All of it, or with <paramref name="replayOnly"/> the no-op replay alone (for profiling).</summary>
    public static async Task RunAsync(Report report, string work, bool quick, bool replayOnly = false)
    {
        var count = 1_000;
        var fsyncs = FsyncRate(Path.Combine(work, "fsync.db"), 1_000);

        // (a) the no-op in-process handler: the delivery path alone.
        var noop = await ReplayAsync(work, "noop", count, _ => (text, _, _) => Task.FromResult(new CommandResult { Command = "noop", Stdout = text }));
        await Console.Error.WriteLineAsync($"replay, no-op handler: {count / noop.Elapsed.TotalSeconds:N0} routed commands/s end to end ({noop.Elapsed.TotalSeconds:0.00} s); /health {noop.Health:N0}/s; fsync {fsyncs:N0} tx/s");
        if (replayOnly)
        {
            return;
        }

        // (c) a Python script handler through the product's dispatcher: the real out-of-process path.
        // python3 as found on PATH, by the product and by the floor alike; the real interpreter's folder goes first,
        // so that a version manager's shim (pyenv's is a bash script) is measured by neither.
        var real = (await CliWrap.Buffered.BufferedCommandExtensions.ExecuteBufferedAsync(
            CliWrap.Cli.Wrap("python3").WithArguments(["-c", "import sys; print(sys.executable)"]))).StandardOutput.Trim();
        Environment.SetEnvironmentVariable("PATH", $"{Path.GetDirectoryName(real)}{Path.PathSeparator}{Environment.GetEnvironmentVariable("PATH")}");
        const string interpreter = "python3";
        var scriptRuns = quick ? 100 : 300;
        var script = await ReplayAsync(work, "python", scriptRuns, home => ScriptRunner(home, interpreter));
        var spawn = await SpawnFloorAsync(interpreter, Path.Combine(work, "python-home", "manifests", "noop", "handler.py"), scriptRuns);

        report.Text($"Replay after an outage, the product's path: {count:N0} sequential routed commands for one device queued at the sender by DeviceRouter while the hub was down; " +
            "then the hub starts, the agent connects, the sync pipeline drains, and the clock stops when the sender's result inbox has stored all the results.");
        report.Text("| case | time | commands/s | floor | ratio |\n|---|---:|---:|---:|---:|\n" +
            $"| bare SQLite transaction, WAL + synchronous=FULL (floor) | {1_000 / fsyncs:0.00} s per 1,000 | {fsyncs:N0} tx/s | | |\n" +
            $"| `GET /health` on the same hub, one at a time (floor) | {1_000 / noop.Health:0.00} s per 1,000 | {noop.Health:N0} round trips/s | | |\n" +
            $"| replay, no-op in-process handler | {noop.Elapsed.TotalSeconds:0.00} s | **{count / noop.Elapsed.TotalSeconds:N0}** | /health {noop.Health:N0}/s | {noop.Health / (count / noop.Elapsed.TotalSeconds):0.0}× the /health time per command |\n" +
            $"| spawn `python3 handler.py` sequentially, request piped (floor) | {spawn.TotalSeconds:0.00} s per {scriptRuns:N0} | {scriptRuns / spawn.TotalSeconds:N0} | | |\n" +
            $"| replay, Python script handler (dispatcher, out-of-process runner) | {script.Elapsed.TotalSeconds:0.00} s per {scriptRuns:N0} | **{scriptRuns / script.Elapsed.TotalSeconds:N0}** | spawn {scriptRuns / spawn.TotalSeconds:N0}/s | {script.Elapsed.TotalSeconds / spawn.TotalSeconds:0.00}× the spawn floor |");

        Assignment(report, work, quick);
    }

    private sealed record Replay(TimeSpan Elapsed, double Health);

    private static async Task<Replay> ReplayAsync(string work, string name, int count, Func<string, RoutedRunner> runner)
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var address = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}";
        probe.Stop();

        var options = new HubOptions { DataDirectory = Path.Combine(work, $"{name}-hub"), Urls = address };
        string senderToken, agentToken;
        using (var store = new HubStore(options.DataDirectory))
        {
            senderToken = store.AddDevice("desktop", replace: false);
            agentToken = store.AddDevice("laptop2", replace: false);
        }

        var home = Path.Combine(work, $"{name}-home");
        Directory.CreateDirectory(home);
        using var client = new HubClient(new Uri(address), senderToken);
        await using var queue = new CommandQueue(Path.Combine(work, $"{name}-desktop", "queue.db"), QueueOptions.Default with { SoftLimit = int.MaxValue });
        await using var connectivity = new ConnectivityMonitor(client.IsAvailableAsync);
        await using var sync = new SyncPipeline(queue, client, connectivity, Path.Combine(work, $"{name}-desktop", "sync.lock"));
        var router = new DeviceRouter(CommandCatalog.Empty, queue, client, sync, connectivity);

        // The outage: each route is typed, finds no hub, and waits in the queue, exactly as at the prompt.
        for (var i = 0; i < count; i++)
        {
            var outcome = await router.RouteAsync(new RouteRequest { Target = "laptop2", Text = $"/noop replay {i}", UniqueKey = Guid.NewGuid().ToString("N") });
            if (outcome.Status != RouteStatus.Queued)
            {
                throw new InvalidOperationException($"route {i} was not queued while the hub was down: {outcome.Status} {outcome.Reason}");
            }
        }

        await using var app = HubServer.Build(options);
        await app.StartAsync();
        var agent = new DeviceAgent(
            new AgentOptions { Hub = new Uri(address), Token = agentToken, Device = "laptop2", Home = home },
            CommandCatalog.Empty, runner(home));
        var results = 0;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var inbox = new ResultInbox(queue, client, line =>
        {
            Interlocked.Increment(ref results);
            if (!line.Contains(": completed\n", StringComparison.Ordinal))
            {
                failures.Enqueue(line);
            }
        });

        // The hub is back: the agent connects, the sender's drain runs (as its probe would start it), results flow back.
        var clock = Stopwatch.StartNew();
        agent.Start();
        inbox.Start();
        connectivity.Report(true, "the hub is back");
        await sync.SyncNowAsync();
        await WaitAsync(() => Volatile.Read(ref results) >= count);
        var elapsed = clock.Elapsed;
        if (!failures.IsEmpty)
        {
            throw new InvalidOperationException($"{failures.Count} routed command(s) did not complete; the first: {failures.First()}");
        }

        using var http = new HttpClient { BaseAddress = new Uri(address) };
        var health = await Measure.InProcessAsync(1_000, () => http.GetStringAsync("/health"));
        await inbox.DisposeAsync();
        await agent.DisposeAsync();
        await app.StopAsync();
        return new Replay(elapsed, 1_000_000 / health.P50);
    }

    // The product's path for a script: the dispatcher finds the manifest and runs the handler out of process.
    private static RoutedRunner ScriptRunner(string home, string python)
    {
        var folder = Path.Combine(home, "manifests", "noop");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "handler.py"), """
            import json, sys
            request = json.load(sys.stdin)
            print(json.dumps({"status": "success", "stdout": request["command"]}))
            """);
        File.WriteAllText(Path.Combine(folder, "command.yaml"), $$"""
            version: "1.0"
            command: { name: noop }
            triggers: [ { pattern: "^noop(\\s+(.*))?$", capture: args } ]
            runtime: { handler: handler.py, interpreter: "{{python}}", timeout_ms: 10000 }
            """);
        var catalog = CommandCatalog.LoadAsync(new ManifestLoader(), [Path.Combine(home, "manifests")]).GetAwaiter().GetResult();
        if (catalog.Problems.Count > 0)
        {
            throw new InvalidOperationException($"the benchmark's manifest did not load: {catalog.Problems[0]}");
        }

        var plugins = new PluginCatalog();
        var dispatcher = new Dispatcher(catalog, new OutOfProcessRunner(), new InProcessRunner(plugins, new HandlerContext { Commands = catalog.Descriptors }));
        var session = new SessionInfo { Device = "laptop2", IsaacHome = home, Online = true, TerminalWidth = 200 };
        return (text, origin, cancellationToken) => dispatcher.DispatchAsync(text, session with { Origin = origin }, home, cancellationToken);
    }

    private static async Task<TimeSpan> SpawnFloorAsync(string python, string script, int runs)
    {
        var request = """{"command":"noop","text":"/noop","args":{}}""";
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < runs; i++)
        {
            var errors = new System.Text.StringBuilder();
            var result = await CliWrap.Cli.Wrap(python).WithArguments([script]).WithStandardInputPipe(CliWrap.PipeSource.FromString(request))
                .WithStandardOutputPipe(CliWrap.PipeTarget.ToStringBuilder(new System.Text.StringBuilder())).WithStandardErrorPipe(CliWrap.PipeTarget.ToStringBuilder(errors)).WithValidation(CliWrap.CommandResultValidation.None).ExecuteAsync();
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException($"the handler script failed on its own ({result.ExitCode}): {errors}");
            }
        }

        return clock.Elapsed;
    }

    private static double FsyncRate(string path, int transactions)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        connection.Execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE t (v INTEGER);");
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < transactions; i++)
        {
            using var transaction = connection.BeginTransaction();
            connection.Execute("INSERT INTO t VALUES ($v);", transaction, ("$v", i));
            transaction.Commit();
        }

        return transactions / clock.Elapsed.TotalSeconds;
    }

    // (d) The hub's store work for one window fill (next waiting command by index with a limit, mark it assigned,
    // store its completion), with 1,000 and 100,000 commands waiting for the device behind it.
    private static void Assignment(Report report, string work, bool quick)
    {
        var depths = quick ? new[] { 1_000, 20_000 } : [1_000, 100_000];
        var costs = depths.Select(depth => FillCost(Path.Combine(work, $"assign-{depth}"), depth)).ToArray();
        report.Section("Hub assignment cost against the backlog",
            $"The hub's store work per assignment (`NextWaiting` by the partial index with a limit, `Assign`, `Apply` of the completion), 500 in a row, with {depths[0]:N0} and {depths[1]:N0} commands waiting for the device.",
            ($"{depths[0]:N0} waiting (floor)", costs[0], costs[0]),
            ($"{depths[1]:N0} waiting", costs[1], costs[0]));
    }

    private static Samples FillCost(string directory, int depth)
    {
        using var store = new HubStore(directory);
        store.AddDevice("desktop", replace: false);
        store.AddDevice("laptop2", replace: false);
        for (var i = 0; i < depth; i += 1_000)
        {
            store.CreateMany("desktop", [.. Enumerable.Range(i, Math.Min(1_000, depth - i)).Select(n => new RouteBody { Target = "laptop2", Text = $"/noop {n}", UniqueKey = $"k{n}" })]);
        }

        var samples = new double[500];
        long cursor = 0;
        for (var i = 0; i < samples.Length; i++)
        {
            var start = Stopwatch.GetTimestamp();
            var next = store.NextWaiting("laptop2", cursor, 1)[0];
            store.Assign("laptop2", [next.Id]);
            store.Apply("laptop2", [new AgentMessage { Type = "completed", Id = next.Id, Result = new CommandResponse() }]);
            cursor = next.Seq;
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        return new Samples(samples);
    }

    private static async Task WaitAsync(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(10))
            {
                throw new TimeoutException("the benchmark's commands did not all come back within 10 minutes");
            }

            await Task.Delay(5);
        }
    }
}
