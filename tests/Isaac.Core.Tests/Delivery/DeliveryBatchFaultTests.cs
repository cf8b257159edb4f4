using System.Globalization;
using Isaac.Core.Tests.Hub;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Delivery;

/// <summary>
/// Batched delivery (agent protocol version 2) under kill -9: the agent killed in the middle of a batch it stored, the
/// hub killed while a batch is at the agent. Every command runs once, in order, or is honestly in doubt.
/// </summary>
public sealed class DeliveryBatchFaultTests : IDisposable
{
    private const int Commands = 12;

    private readonly HubHarness _hub = new();

    public void Dispose() => _hub.Dispose();

    private string CountLog => Path.Combine(_hub.Home("laptop2"), "count");

    // Appends "start N" and "end N" to one log file: what ran, how often, in which order.
    private string Logged => $$"""
        n=$(cat | grep -o '"args":\["[^"]*"' | cut -d'"' -f4)
        echo "start $n" >> '{{CountLog}}'; sleep 0.05; echo "end $n" >> '{{CountLog}}'
        printf '{"status":"success","stdout":"ran %s"}' "$n"
        """;

    private async Task<HttpClient> BacklogAsync()
    {
        await _hub.AddDevicesAsync("desktop", "laptop2");
        _hub.AddCommand("laptop2", "job", Logged);
        await _hub.StartHubAsync();
        var sender = _hub.Http("desktop");
        await HubApi.RouteBatchAsync(sender, [.. Enumerable.Range(0, Commands).Select(i => HubApi.Route("laptop2", $"/job {i}"))]);
        return sender;
    }

    private async Task<Dictionary<int, string>> SettledAsync()
    {
        await HubApi.UntilAsync(() => Task.FromResult(Statuses().Count == Commands && Statuses().Values.All(s => s is "completed" or "in_doubt")),
            TimeSpan.FromSeconds(90), "every command final at the hub");
        return Statuses();
    }

    private Dictionary<int, string> Statuses() =>
        _hub.CommandStatuses().ToDictionary(c => int.Parse(c.Key["/job ".Length..], CultureInfo.InvariantCulture), c => c.Value);

    private List<int> Started() =>
        [.. _hub.Counted("laptop2").Where(l => l.StartsWith("start ", StringComparison.Ordinal)).Select(l => int.Parse(l[6..], CultureInfo.InvariantCulture))];

    [Theory(Timeout = 120_000)]
    [InlineData("after-persist")]
    [InlineData("after-running")]
    [InlineData("after-run")]
    public async Task An_agent_killed_in_the_middle_of_a_batch_runs_every_command_of_it_once_in_order_after_restart(string fault)
    {
        // Arrange: the backlog reaches the agent as one batch
        using var sender = await BacklogAsync();
        var crashing = _hub.StartAgent("laptop2", fault: fault);
        await crashing.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

        // Act
        _hub.StartAgent("laptop2");
        var statuses = await SettledAsync();

        // Assert: "running" stored before the kill makes that command in doubt (never run again): the first one, or after
        // the first result the second, whose running mark shares the result's transaction; nothing else is lost or repeated
        var inDoubt = fault switch { "after-running" => new[] { 0 }, "after-run" => [1], _ => [] };
        Assert.Equal(inDoubt, statuses.Where(s => s.Value == "in_doubt").Select(s => s.Key));
        Assert.Equal(Enumerable.Range(0, Commands).Except(inDoubt), Started());
    }

    [Fact(Timeout = 180_000)]
    public async Task A_hub_killed_while_a_batch_is_at_the_agent_loses_nothing_and_runs_nothing_twice()
    {
        // Arrange
        using var sender = await BacklogAsync();
        _hub.StartAgent("laptop2");
        await HubApi.UntilAsync(() => Task.FromResult(Started().Count >= 3), TimeSpan.FromSeconds(60), "the agent started the batch");

        // Act: kill -9 the hub mid-batch, and bring it back
        _hub.KillHub();
        await _hub.StartHubAsync();
        var statuses = await SettledAsync();

        // Assert
        Assert.All(statuses.Values, s => Assert.Equal("completed", s));
        Assert.Equal(Enumerable.Range(0, Commands), Started());
    }
}
