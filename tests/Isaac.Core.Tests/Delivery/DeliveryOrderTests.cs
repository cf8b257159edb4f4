using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Delivery;

/// <summary>The promise, end to end with real processes: routes from one sender run on the device in the order typed.</summary>
public sealed class DeliveryOrderTests : IDisposable
{
    // Appends "start N" and "end N" around a short pause to $ISAAC_HOME/count: what ran, in which order, and whether runs overlapped.
    private const string Logged = """
        n=$(cat | grep -o '"args":\["[^"]*"' | cut -d'"' -f4)
        echo "start $n" >> "$ISAAC_HOME/count"; sleep 0.3; echo "end $n" >> "$ISAAC_HOME/count"
        printf '{"status":"success","stdout":"ran %s"}' "$n"
        """;

    private readonly HubHarness _hub = new();

    public void Dispose() => _hub.Dispose();

    private async Task SetUpAsync(bool parallel = false)
    {
        await _hub.AddDevicesAsync("desktop", "laptop2");
        foreach (var device in new[] { "desktop", "laptop2" })
        {
            // The sender's manifest decides the queue policy, the device's runs the command: both have it.
            _hub.AddCommand(device, "job", Logged);
            if (parallel)
            {
                var manifest = Path.Combine(_hub.Home(device), "commands", "job", "command.yaml");
                File.AppendAllText(manifest, "\nqueue:\n  parallel: true\n");
            }
        }
    }

    private async Task<string[]> WaitForEndsAsync(int count)
    {
        while (_hub.Counted("laptop2").Count(line => line.StartsWith("end ", StringComparison.Ordinal)) < count)
        {
            await Task.Delay(100);
        }

        return _hub.Counted("laptop2");
    }

    private static string[] Sequential(params int[] numbers) => numbers.SelectMany(n => new[] { $"start {n}", $"end {n}" }).ToArray();

    [Fact(Timeout = 120_000)]
    public async Task Five_routes_queued_while_the_hub_was_down_and_one_typed_after_it_returns_run_in_the_order_typed()
    {
        // Arrange: five routes typed while the hub is down, each by its own short-lived sender process
        await SetUpAsync();
        for (var i = 1; i <= 5; i++)
        {
            var queued = await _hub.RunAsync("desktop", $"!laptop2 /job {i}");
            Assert.Contains($"Command queued (#{i})", queued.Stdout);
        }

        await _hub.StartHubAsync();
        _hub.StartAgent("laptop2");

        // Act: the sixth is typed before any drain has run
        var sixth = await _hub.RunAsync("desktop", "!laptop2 /job 6");
        var runs = await WaitForEndsAsync(6);

        // Assert
        Assert.True(sixth.ExitCode == 0, sixth.ToString());
        Assert.Equal(Sequential(1, 2, 3, 4, 5, 6), runs);
    }

    [Fact(Timeout = 120_000)]
    public async Task Twenty_sequential_routes_run_one_at_a_time_in_order_at_the_default_capacity()
    {
        // Arrange: twenty routes wait at the hub for a device that is offline
        await SetUpAsync();
        await _hub.StartHubAsync();
        for (var i = 0; i < 20; i++)
        {
            var sent = await _hub.RunAsync("desktop", $"!laptop2 /job {i}");
            Assert.True(sent.ExitCode == 0, sent.ToString());
        }

        // Act: the device comes online with its default capacity of 4
        _hub.StartAgent("laptop2");
        var runs = await WaitForEndsAsync(20);

        // Assert: one at a time, in order
        Assert.Equal(Sequential([.. Enumerable.Range(0, 20)]), runs);
    }

    [Fact(Timeout = 120_000)]
    public async Task Parallel_routes_overlap_on_the_device()
    {
        // Arrange
        await SetUpAsync(parallel: true);
        await _hub.StartHubAsync();
        for (var i = 0; i < 8; i++)
        {
            var sent = await _hub.RunAsync("desktop", $"!laptop2 /job {i}");
            Assert.True(sent.ExitCode == 0, sent.ToString());
        }

        // Act
        _hub.StartAgent("laptop2");
        var runs = await WaitForEndsAsync(8);

        // Assert: some command started before the one before it ended
        var overlapped = runs.Select((line, at) => (line, at)).Any(x => x.line.StartsWith("start ", StringComparison.Ordinal) && x.at > 0 && runs[x.at - 1].StartsWith("start ", StringComparison.Ordinal));
        Assert.True(overlapped, string.Join(", ", runs));
        Assert.Equal(8, runs.Count(line => line.StartsWith("end ", StringComparison.Ordinal)));
    }
}
