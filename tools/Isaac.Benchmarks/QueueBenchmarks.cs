using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Isaac.Core;
using Isaac.Core.Manifests;
using Isaac.Core.Queue;
using Isaac.Core.Routing;
using Isaac.Plugins;
using Microsoft.Data.Sqlite;

namespace Isaac.Benchmarks;

/// <summary>
/// The sender's durable queue on the product's path: routed commands for one device, queued by DeviceRouter itself
/// (no hub configured, so each route stops at the queue), every commit on disk before it is reported. Floors and the persist-queue anchor are measured in the same run with the same durability.
/// </summary>
internal static class QueueBenchmarks
{
    private const string Device = "laptop2";

    /// <summary>All of it, or one <paramref name="part"/>: "enqueue" or "writers".</summary>
    public static async Task RunAsync(Report report, string work, bool quick, string? part = null)
    {
        if (part is null or "enqueue")
        {
            await EnqueueAsync(report, work, quick ? 500 : 2_000);
        }

        if (part is null)
        {
            await DepthAsync(report, work, quick ? 10_000 : 100_000, quick ? 50 : 200);
        }

        if (part is null or "writers")
        {
            await WritersAsync(report, work, quick ? 300 : 1_000);
        }
    }

    // Enqueue against a bare INSERT loop and persist-queue 0.5.1's SQLiteAckQueue.put(), all WAL with an fsync per
    // commit. The three take turns in rounds of 50, so the machine's noise (fsync times vary a lot on a busy disk)
    // falls on all three alike.
    private static async Task EnqueueAsync(Report report, string work, int count)
    {
        const int Round = 50;
        using var bare = new BareInserts(Path.Combine(work, "bare.db"));
        await using var queue = new CommandQueue(Path.Combine(work, "enqueue.db"), QueueOptions.Default);
        using var anchor = PersistQueue.Start(Path.Combine(work, "persist-queue"));
        var (bareSamples, isaacSamples, anchorSamples) = (new List<double>(), new List<double>(), new List<double>());
        await RouteAsync(queue, 0);
        bare.Insert(0);
        anchor?.Put(1);
        for (var done = 0; done < count; done += Round)
        {
            bareSamples.AddRange((await TimedAsync(Round, i => Task.FromResult(bare.Insert(done + i)))).Samples.Micros);
            isaacSamples.AddRange((await TimedAsync(Round, i => RouteAsync(queue, done + i + 1))).Samples.Micros);
            if (anchor is not null)
            {
                anchorSamples.AddRange(anchor.Put(Round));
            }
        }

        var floor = new Samples([.. bareSamples]);
        var isaac = new Samples([.. isaacSamples]);
        var rows = new List<(string, Samples, Samples)>
        {
            ("bare single-row `INSERT`, autocommit (floor)", floor, floor),
            ("`DeviceRouter.RouteAsync` for a known command, no hub (queued)", isaac, floor),
        };
        string throughput = $"Throughput (from the summed latencies): bare {PerSecond(floor):N0}/s, Isaac {PerSecond(isaac):N0}/s";
        if (anchor is not null)
        {
            var python = new Samples([.. anchorSamples]);
            rows.Add(("persist-queue 0.5.1 `SQLiteAckQueue.put()` (python3, anchor)", python, floor));
            throughput += $", persist-queue {PerSecond(python):N0}/s: **Isaac {PerSecond(isaac) / PerSecond(python):0.00}× persist-queue**";
        }
        else
        {
            throughput += ". persist-queue row skipped: python3 cannot import persistqueue (install the Debian package python3-persist-queue)";
        }

        report.Section("Durable enqueue",
            $"{count:N0} routed commands for one device each, one transaction per command, on disk before it returns (WAL; an fsync per commit for all three), in turns of {Round}. {throughput}.",
            [.. rows]);
    }

    private static double PerSecond(Samples samples) => samples.Micros.Length / (samples.Micros.Sum() / 1e6);

    // Per-operation cost at a small and a large depth, then draining the large one (queue side alone: claim + MarkDone).
    private static async Task DepthAsync(Report report, string work, int deep, int samples)
    {
        var rows = new List<(string, Samples, Samples)>();
        var costs = new Dictionary<(string Op, int Depth), Samples>();
        await FillAsync(Path.Combine(work, "depth-small.db"), 1_000);
        await FillAsync(Path.Combine(work, "depth-deep.db"), deep);
        await using var small = new CommandQueue(Path.Combine(work, "depth-small.db"), QueueOptions.Default);
        await using var large = new CommandQueue(Path.Combine(work, "depth-deep.db"), QueueOptions.Default);
        var queues = new[] { (Depth: 1_000, Queue: small), (Depth: deep, Queue: large) };
        var next = deep;
        var operations = new (string Name, Func<CommandQueue, Task> Action)[]
        {
            ("enqueue", queue => RouteAsync(queue, ++next)),
            ("claim", queue => queue.ClaimAsync(maxBatch: 100)),
            ("status", queue => queue.GetStatusAsync()),
            ("`/queue` list (500)", queue => queue.ListAsync(Isaac.Plugins.QueueView.Pending, 500)),
        };

        // The two depths take turns, so the machine's noise falls on both alike.
        foreach (var (name, action) in operations)
        {
            var taken = queues.ToDictionary(q => q.Depth, _ => new double[samples]);
            for (var i = -10; i < samples; i++)
            {
                foreach (var (depth, queue) in queues)
                {
                    var start = Stopwatch.GetTimestamp();
                    await action(queue);
                    var elapsed = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                    if (name == "claim")
                    {
                        await queue.ReclaimAllSyncingAsync(); // put back, untimed
                    }

                    if (i >= 0)
                    {
                        taken[depth][i] = elapsed;
                    }
                }
            }

            foreach (var (depth, _) in queues)
            {
                costs[(name, depth)] = new Samples(taken[depth]);
            }
        }

        foreach (var op in costs.Keys.Select(k => k.Op).Distinct())
        {
            rows.Add(($"{op} at {1_000:N0} queued (floor)", costs[(op, 1_000)], costs[(op, 1_000)]));
            rows.Add(($"{op} at {deep:N0} queued", costs[(op, deep)], costs[(op, 1_000)]));
        }

        report.Section("Per-operation cost by depth",
            $"One device's queue filled with {1_000:N0} and {deep:N0} sequential routed commands; {samples} samples per case. The two depths take turns, each operation after 10 untimed rounds. Claim is `ClaimAsync(100)` (then put back, untimed); the ratio is against the same operation at {1_000:N0} queued.",
            [.. rows]);

        var drainPath = Path.Combine(work, "drain.db");
        foreach (var watched in new[] { false, true })
        {
            await FillAsync(drainPath, deep);
            var (elapsed, transactions) = await DrainAsync(drainPath, deep, watched);
            report.Text($"Drain of {deep:N0} queued routed commands for one device{(watched ? ", with another shell watching the status" : "")} (queue side alone: `ClaimAsync(100)` + `MarkDoneAsync`, no network): " +
                $"{elapsed.TotalSeconds:0.00} s, {deep / elapsed.TotalSeconds:N0} commands/s, {transactions:N0} transactions.");
            File.Delete(drainPath);
        }
    }

    // 1 and 4 writer processes (as 1 and 4 shells), each routing commands on DeviceRouter's path.
    private static async Task WritersAsync(Report report, string work, int perWriter)
    {
        var results = new Dictionary<int, double>();
        foreach (var writers in new[] { 1, 4 })
        {
            var path = Path.Combine(work, $"writers-{writers}.db");
            await using (var create = new CommandQueue(path))
            {
                await create.GetStatusAsync();
            }

            var processes = Enumerable.Range(0, writers).Select(_ => Process.Start(new ProcessStartInfo(Environment.ProcessPath!, ["--queue-writer", path, perWriter.ToString(CultureInfo.InvariantCulture)])
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
            })!).ToList();
            foreach (var process in processes)
            {
                await process.StandardOutput.ReadLineAsync(); // "ready": started, queue open, one enqueue done
            }

            foreach (var process in processes)
            {
                await process.StandardInput.WriteLineAsync("go");
                await process.StandardInput.FlushAsync();
            }

            var spans = new List<(long Start, long End)>();
            foreach (var process in processes)
            {
                var line = (await process.StandardOutput.ReadLineAsync())!.Split(' ');
                spans.Add((long.Parse(line[1], CultureInfo.InvariantCulture), long.Parse(line[2], CultureInfo.InvariantCulture)));
                await process.WaitForExitAsync();
                process.Dispose();
            }

            var seconds = TimeSpan.FromTicks(spans.Max(s => s.End) - spans.Min(s => s.Start)).TotalSeconds;
            results[writers] = writers * perWriter / seconds;
        }

        report.Text($"Concurrent writers (group commit): {perWriter:N0} routed commands per writer process, each on DeviceRouter's path. " +
            $"1 writer: {results[1]:N0}/s; 4 writer processes: {results[4]:N0}/s in all, **{results[4] / results[1]:0.00}×** one writer.");
    }

    /// <summary>The child of <see cref="WritersAsync"/>: <c>--queue-writer &lt;db&gt; &lt;count&gt;</c>.</summary>
    public static async Task<int> WriterAsync(string path, int count)
    {
        await using var queue = new CommandQueue(path, QueueOptions.Default);
        var tag = Environment.ProcessId * 1_000_000;
        await RouteAsync(queue, tag);
        Console.WriteLine("ready");
        await Console.In.ReadLineAsync();
        var start = DateTime.UtcNow.Ticks;
        for (var i = 1; i <= count; i++)
        {
            await RouteAsync(queue, tag + i);
        }

        Console.WriteLine($"done {start} {DateTime.UtcNow.Ticks}");
        return 0;
    }

    // The product's own path: `!laptop2 /sysinfo N` through DeviceRouter as a shell with no hub holds it, for a
    // command the sender knows (so its manifest's queue policy and metadata are built, as for a real route).
    private static readonly Lazy<Task<CommandCatalog>> _catalog = new(() =>
        CommandCatalog.LoadAsync(new ManifestLoader(), [Path.Combine(BuildInfo.Get("RepoRoot"), "manifests")]));

    private static async Task<long> RouteAsync(CommandQueue queue, int i)
    {
        var router = new DeviceRouter(await _catalog.Value, queue, hub: null, sync: null, connectivity: null);
        var outcome = await router.RouteAsync(new RouteRequest { Target = Device, Text = $"/sysinfo {i}", UniqueKey = Guid.NewGuid().ToString("N") });
        return outcome.QueuedId ?? throw new InvalidOperationException($"not queued: {outcome.Status} {outcome.Reason}");
    }

    private static async Task<(Samples Samples, TimeSpan Elapsed)> TimedAsync<T>(int count, Func<int, Task<T>> action)
    {
        var samples = new double[count];
        var total = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await action(i);
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        return (new Samples(samples), total.Elapsed);
    }

    // Creates the queue through CommandQueue (its real schema), then adds the rows in one transaction, so the
    // triggers keep the counters as they would for single enqueues.
    private static async Task FillAsync(string path, int count)
    {
        await using (var queue = new CommandQueue(path))
        {
            await queue.GetStatusAsync();
        }

        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        connection.Execute($$"""
            BEGIN;
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {{count}})
            INSERT INTO command_queue (id, queued_at, command_type, command_text, target_device, metadata, unique_key, parallel, next_attempt_at)
            SELECT i, '2026-11-23T09:00:00.0000000Z', 'device_route', '/status ' || i, '{{Device}}',
                '{"command":"status","tier":"read","manifest":"/home/me/isaac/manifests/status/command.yaml"}', lower(hex(randomblob(16))), 0,
                '2026-11-23T09:00:00.0000000Z'
            FROM n;
            COMMIT;
            """);
    }

    private static async Task<(TimeSpan Elapsed, int Transactions)> DrainAsync(string path, int count, bool watched)
    {
        await using var queue = new CommandQueue(path, QueueOptions.Default);
        await using var shell = new CommandQueue(path, QueueOptions.Default);
        using var watching = watched ? shell.Changes.Subscribe(_ => { }) : null;
        var transactions = 0;
        var drained = 0;
        var total = Stopwatch.StartNew();
        while (drained < count)
        {
            var ids = (await queue.ClaimAsync(maxBatch: 100)).SelectMany(b => b.Commands).Select(c => c.Id).ToArray();
            await queue.MarkDoneAsync(ids);
            transactions += 2;
            drained += ids.Length;
        }

        return (total.Elapsed, transactions);
    }
}

/// <summary>The floor: a prepared single-row INSERT in autocommit, WAL and synchronous=FULL (an fsync per commit).</summary>
internal sealed class BareInserts : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _insert;

    public BareInserts(string path)
    {
        _connection = new SqliteConnection($"Data Source={path};Pooling=False");
        _connection.Open();
        _connection.Execute("""
            PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
            CREATE TABLE q (id INTEGER PRIMARY KEY, queued_at TEXT, command_type TEXT, command_text TEXT, target_device TEXT, metadata TEXT, unique_key TEXT, next_attempt_at TEXT);
            """);
        _insert = _connection.Command(
            "INSERT INTO q (queued_at, command_type, command_text, target_device, metadata, unique_key, next_attempt_at) VALUES ($t, 'device_route', $text, 'laptop2', $metadata, $key, $t);",
            null, ("$t", null), ("$text", null), ("$metadata", """{"command":"status","tier":"read","manifest":"/home/me/isaac/manifests/status/command.yaml"}"""), ("$key", null));
        _insert.Prepare();
    }

    public int Insert(int i)
    {
        _insert.Parameters["$t"].Value = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
        _insert.Parameters["$text"].Value = $"/status {i}";
        _insert.Parameters["$key"].Value = Guid.NewGuid().ToString("N");
        return _insert.ExecuteNonQuery();
    }

    public void Dispose()
    {
        _insert.Dispose();
        _connection.Dispose();
    }
}

/// <summary>
/// The anchor: persist-queue's own put() loop in the system python3 (the Debian package installs there), WAL as the
/// package sets it and synchronous=FULL set on its connections (an fsync per commit, as Isaac). It puts N items for
/// each "N" line it reads and answers with their latencies.
/// </summary>
internal sealed class PersistQueue : IDisposable
{
    private const string Script = """
        import json, sys, time, uuid
        try:
            import persistqueue
        except ImportError:
            print(json.dumps({"missing": True}), flush=True); sys.exit(0)
        q = persistqueue.SQLiteAckQueue(sys.argv[1], auto_commit=True)
        for connection in {q._conn, q._putter}:
            connection.execute("PRAGMA synchronous=FULL")
        meta = {"command": "status", "tier": "read", "manifest": "/home/me/isaac/manifests/status/command.yaml"}
        print(json.dumps({"ready": True}), flush=True)
        i = 0
        for line in sys.stdin:
            samples = []
            for _ in range(int(line)):
                i += 1
                start = time.perf_counter()
                q.put({"type": "device_route", "text": "/status %d" % i, "target": "laptop2", "metadata": meta, "unique_key": uuid.uuid4().hex})
                samples.append((time.perf_counter() - start) * 1e6)
            print(json.dumps(samples), flush=True)
        """;

    private readonly Process _process;

    private PersistQueue(Process process) => _process = process;

    public static PersistQueue? Start(string folder)
    {
        var script = folder + ".py";
        File.WriteAllText(script, Script);
        try
        {
            var process = Process.Start(new ProcessStartInfo(File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3", [script, folder])
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
            })!;
            if (JsonNode.Parse(process.StandardOutput.ReadLine() ?? "{}")?["ready"] is null)
            {
                process.WaitForExit();
                process.Dispose();
                return null;
            }

            return new PersistQueue(process);
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or JsonException)
        {
            return null;
        }
    }

    public double[] Put(int count)
    {
        _process.StandardInput.WriteLine(count.ToString(CultureInfo.InvariantCulture));
        _process.StandardInput.Flush();
        return JsonNode.Parse(_process.StandardOutput.ReadLine()!)!.AsArray().Select(s => s!.GetValue<double>()).ToArray();
    }

    public void Dispose()
    {
        _process.StandardInput.Close();
        _process.WaitForExit();
        _process.Dispose();
    }
}
