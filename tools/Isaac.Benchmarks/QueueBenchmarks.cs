using System.Diagnostics;
using Isaac.Core.Queue;
using Microsoft.Data.Sqlite;

namespace Isaac.Benchmarks;

/// <summary>The durable queue against a bare SQLite insert loop with the same durability (WAL, synchronous=FULL).</summary>
internal static class QueueBenchmarks
{
    public static async Task RunAsync(Report report, string work, bool quick)
    {
        var count = quick ? 1_000 : 10_000;

        var bare = BareInserts(Path.Combine(work, "bare.db"), count);
        var (enqueue, enqueueElapsed) = await EnqueueAsync(Path.Combine(work, "enqueue.db"), count);
        report.Section("Durable enqueue",
            $"{count:N0} single-command transactions each, fsync at every commit (WAL, synchronous=FULL). Throughput: bare {count / bare.Elapsed.TotalSeconds:N0}/s, Isaac {count / enqueueElapsed.TotalSeconds:N0}/s.",
            ("bare single-row INSERT, autocommit (floor)", bare.Samples, bare.Samples),
            ("CommandQueue.EnqueueAsync", enqueue, bare.Samples));

        var writers = await ConcurrentWritersAsync(Path.Combine(work, "writers.db"), count, writers: 4);
        report.Text($"4 concurrent writers (own connections, like 4 processes), {count:N0} enqueues in all: {count / writers.TotalSeconds:N0}/s in {writers.TotalSeconds:0.00} s.");

        foreach (var parallel in new[] { true, false })
        {
            var (elapsed, transactions) = await DrainAsync(Path.Combine(work, $"drain-{parallel}.db"), count, parallel);
            report.Text($"Drain (claim → done) of {count:N0} {(parallel ? "parallel" : "sequential")} commands for 10 devices: " +
                $"{elapsed.TotalSeconds:0.00} s, {count / elapsed.TotalSeconds:N0} commands/s, {transactions:N0} claim+done transactions.");
        }
    }

    private static (Samples Samples, TimeSpan Elapsed) BareInserts(string path, int count)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using (var setup = connection.CreateCommand())
        {
            setup.CommandText = """
                PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
                CREATE TABLE q (id INTEGER PRIMARY KEY AUTOINCREMENT, queued_at TEXT, command_type TEXT, command_text TEXT, target_device TEXT, unique_key TEXT UNIQUE, next_attempt_at TEXT);
                """;
            setup.ExecuteNonQuery();
        }

        var samples = new double[count];
        var total = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO q (queued_at, command_type, command_text, target_device, unique_key, next_attempt_at) VALUES ($t, 'device_route', $text, 'laptop2', $key, $t);";
            insert.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToString("O"));
            insert.Parameters.AddWithValue("$text", $"!laptop2 /status {i}");
            insert.Parameters.AddWithValue("$key", Guid.NewGuid().ToString("N"));
            insert.ExecuteNonQuery();
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        return (new Samples(samples), total.Elapsed);
    }

    private static async Task<(Samples, TimeSpan)> EnqueueAsync(string path, int count)
    {
        await using var queue = new CommandQueue(path, QueueOptions.Default with { SoftLimit = int.MaxValue });
        await queue.GetStatusAsync();
        var samples = new double[count];
        var total = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.DeviceRoute, Text = $"!laptop2 /status {i}", Target = "laptop2" });
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        return (new Samples(samples), total.Elapsed);
    }

    private static async Task<TimeSpan> ConcurrentWritersAsync(string path, int count, int writers)
    {
        await using (var create = new CommandQueue(path))
        {
            await create.GetStatusAsync();
        }

        var total = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            await using var queue = new CommandQueue(path, QueueOptions.Default with { SoftLimit = int.MaxValue });
            for (var i = 0; i < count / writers; i++)
            {
                await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.Meta, Text = $"/w{w} {i}", Target = $"device-{w}" });
            }
        })));
        return total.Elapsed;
    }

    private static async Task<(TimeSpan Elapsed, int Transactions)> DrainAsync(string path, int count, bool parallel)
    {
        await using var queue = new CommandQueue(path, QueueOptions.Default with { SoftLimit = int.MaxValue });
        for (var i = 0; i < count; i++)
        {
            await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.DeviceRoute, Text = $"/c {i}", Target = $"device-{i % 10}", Parallel = parallel });
        }

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
