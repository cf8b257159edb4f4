using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Isaac.Core;
using Isaac.Core.Queue;
using Microsoft.Data.Sqlite;

namespace Isaac.Benchmarks;

/// <summary>
/// The sender's durable queue on the product's path: routed commands for one device, queued exactly as DeviceRouter
/// queues them (its backlog count, then the enqueue of the entry QueuedCommands builds), every commit on disk before
/// it is reported. Floors and the persist-queue anchor are measured in the same run with the same durability.
/// </summary>
internal static class QueueBenchmarks
{
    private const string Device = "laptop2";

    public static async Task RunAsync(Report report, string work, bool quick)
    {
        await EnqueueAsync(report, work, quick ? 500 : 2_000);
        await DepthAsync(report, work, quick ? 10_000 : 100_000, quick ? 50 : 200);
        await WritersAsync(report, work, quick ? 300 : 1_000);
    }

    // Enqueue against a bare INSERT loop and persist-queue 0.5.1's SQLiteAckQueue.put(), all WAL with an fsync per commit.
    private static async Task EnqueueAsync(Report report, string work, int count)
    {
        var bare = BareInserts(Path.Combine(work, "bare.db"), count);
        await using var queue = new CommandQueue(Path.Combine(work, "enqueue.db"), QueueOptions.Default);
        await RouteAsync(queue, 0);
        var isaac = await TimedAsync(count, i => RouteAsync(queue, i + 1));
        var rows = new List<(string, Samples, Samples)>
        {
            ("bare single-row `INSERT`, autocommit (floor)", bare.Samples, bare.Samples),
            ("`CommandQueue` on DeviceRouter's path (`CountUndeliveredAsync` + `EnqueueAsync`)", isaac.Samples, bare.Samples),
        };
        var throughput = $"Throughput: bare {count / bare.Elapsed.TotalSeconds:N0}/s, Isaac {count / isaac.Elapsed.TotalSeconds:N0}/s";
        if (PersistQueue(Path.Combine(work, "persist-queue"), count) is { } anchor)
        {
            rows.Add(("persist-queue 0.5.1 `SQLiteAckQueue.put()` (python3, anchor)", anchor.Samples, bare.Samples));
            throughput += $", persist-queue {count / anchor.Elapsed.TotalSeconds:N0}/s: Isaac/persist-queue throughput {anchor.Elapsed / isaac.Elapsed:0.00}×";
        }
        else
        {
            throughput += ". persist-queue row skipped: python3 cannot import persistqueue (install the Debian package python3-persist-queue)";
        }

        report.Section("Durable enqueue",
            $"{count:N0} routed commands for one device, one transaction each, on disk before it returns (WAL; fsync per commit for all three). {throughput}.",
            [.. rows]);
    }

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

    // What DeviceRouter does for `!laptop2 /status N` when the sender knows /status: the backlog count, then the
    // entry QueuedCommands.For builds (type, target, policy, metadata) with the route's unique key.
    private static async Task<long> RouteAsync(CommandQueue queue, int i)
    {
        _ = await queue.CountUndeliveredAsync(Device);
        var metadata = new JsonObject { ["command"] = "status", ["tier"] = "read", ["manifest"] = "/home/me/isaac/manifests/status/command.yaml" };
        var entry = new EnqueueRequest
        {
            Type = CommandType.DeviceRoute,
            Text = $"/status {i}",
            Target = Device,
            Metadata = metadata.ToJsonString(),
            UniqueKey = Guid.NewGuid().ToString("N"),
        };
        return (await queue.EnqueueAsync(entry)).Id;
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

    private static (Samples Samples, TimeSpan Elapsed) BareInserts(string path, int count)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        connection.Execute("""
            PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
            CREATE TABLE q (id INTEGER PRIMARY KEY, queued_at TEXT, command_type TEXT, command_text TEXT, target_device TEXT, metadata TEXT, unique_key TEXT, next_attempt_at TEXT);
            """);
        using var insert = connection.Command(
            "INSERT INTO q (queued_at, command_type, command_text, target_device, metadata, unique_key, next_attempt_at) VALUES ($t, 'device_route', $text, $target, $metadata, $key, $t);",
            null, ("$t", null), ("$text", null), ("$target", Device), ("$metadata", """{"command":"status","tier":"read","manifest":"/home/me/isaac/manifests/status/command.yaml"}"""), ("$key", null));
        insert.Prepare();
        var samples = new double[count];
        var total = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            insert.Parameters["$t"].Value = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
            insert.Parameters["$text"].Value = $"/status {i}";
            insert.Parameters["$key"].Value = Guid.NewGuid().ToString("N");
            insert.ExecuteNonQuery();
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        return (new Samples(samples), total.Elapsed);
    }

    // persist-queue's own put() loop, from the system python3 (the Debian package installs there), WAL as the
    // package sets it and synchronous=FULL set on its connections: an fsync per commit, as Isaac.
    private static (Samples Samples, TimeSpan Elapsed)? PersistQueue(string folder, int count)
    {
        const string Script = """
            import json, sys, time, uuid
            try:
                import persistqueue
            except ImportError:
                print(json.dumps({"missing": True})); sys.exit(0)
            q = persistqueue.SQLiteAckQueue(sys.argv[1], auto_commit=True)
            for connection in {q._conn, q._putter}:
                connection.execute("PRAGMA synchronous=FULL")
            meta = {"command": "status", "tier": "read", "manifest": "/home/me/isaac/manifests/status/command.yaml"}
            def item(i):
                return {"type": "device_route", "text": "/status %d" % i, "target": "laptop2", "metadata": meta, "unique_key": uuid.uuid4().hex}
            q.put(item(0))
            samples = []
            total = time.perf_counter()
            for i in range(int(sys.argv[2])):
                start = time.perf_counter()
                q.put(item(i + 1))
                samples.append((time.perf_counter() - start) * 1e6)
            print(json.dumps({"elapsed": time.perf_counter() - total, "samples": samples}))
            """;
        var script = Path.Combine(Path.GetDirectoryName(folder)!, "persist_queue_put.py");
        File.WriteAllText(script, Script);
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        try
        {
            using var process = Process.Start(new ProcessStartInfo(python, [script, folder, count.ToString(CultureInfo.InvariantCulture)]) { RedirectStandardOutput = true })!;
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            var result = JsonNode.Parse(output)!;
            if (result["missing"] is not null)
            {
                return null;
            }

            var samples = result["samples"]!.AsArray().Select(s => s!.GetValue<double>()).ToArray();
            return (new Samples(samples), TimeSpan.FromSeconds(result["elapsed"]!.GetValue<double>()));
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or JsonException)
        {
            return null;
        }
    }
}
