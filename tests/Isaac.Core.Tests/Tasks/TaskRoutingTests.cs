using System.Text.RegularExpressions;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Tasks;

/// <summary>A task routed end to end: a sender, the real hub and a real agent on the other device (docs/tasks.md).</summary>
public sealed partial class TaskRoutingTests : IDisposable
{
    private readonly HubHarness _hub = new();

    public void Dispose() => _hub.Dispose();

    [Fact(Timeout = 180_000)]
    public async Task A_routed_task_is_accepted_at_once_shown_in_flight_and_its_result_reaches_a_shell_opened_later()
    {
        // Arrange: the sender knows the command too, so it knows not to wait for the result.
        await _hub.AddDevicesAsync("desktop", "laptop2");
        TaskFixture.Add(_hub.Home("desktop"), "ok");
        TaskFixture.Add(_hub.Home("laptop2"), "ok");
        await _hub.StartHubAsync();
        _hub.StartAgent("laptop2");
        while (!(await _hub.RunAsync("desktop", "/devices")).Stdout.Contains("online", StringComparison.Ordinal))
        {
        }

        // Act
        var routed = await _hub.RunAsync("desktop", "!laptop2 /job end to end");
        var id = TaskId().Match(routed.Stdout).Groups[1].Value;
        var results = Path.Combine(_hub.Home("laptop2"), "tasks", "job");
        await AgentHarness.WaitUntilAsync(() => File.Exists(Path.Combine(results, id + ".started")), "the task confirms", TimeSpan.FromSeconds(90));
        string inFlight;
        do
        {
            inFlight = (await _hub.RunAsync("desktop", "/queue results")).Stdout;
        }
        while (!inFlight.Contains("working", StringComparison.Ordinal));

        var devices = (await _hub.RunAsync("desktop", "/devices")).Stdout;
        File.WriteAllText(Path.Combine(results, id + ".go"), "");
        string later;
        do
        {
            later = (await _hub.RunAsync("desktop", "/queue results")).Stdout;
        }
        while (!later.Contains("completed", StringComparison.Ordinal));

        // Assert
        Assert.Matches(@"task #\w+ accepted by laptop2", routed.Stdout);
        Assert.Matches(@"running: working for \d+s", inFlight);
        Assert.Matches(@"laptop2\W+online.*1, oldest \d+s in its phase", devices);
        Assert.Contains("done: end to end", later);
    }

    [GeneratedRegex(@"task #(\w+) accepted")]
    private static partial Regex TaskId();
}
