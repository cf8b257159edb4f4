using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Cli;

public sealed class DemoTests : IDisposable
{
    private readonly TempDir _home = new();

    public void Dispose() => _home.Dispose();

    [Fact(Timeout = 120_000)]
    public async Task The_demo_routes_queues_syncs_and_shows_the_results()
    {
        var run = await IsaacProcess.RunAsync(_home.Path, "demo");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("[laptop2] device     laptop2", run.Stdout);
        Assert.Contains("Command queued (#2) - will sync when online", run.Stdout);
        Assert.Contains("isaac [OFFLINE: 2 queued]> /queue", run.Stdout);
        Assert.Contains("2 queued command(s) synced", run.Stdout);
        Assert.Contains("[laptop2] /help sysinfo: completed", run.Stdout);
        Assert.Contains("[laptop2] /sysinfo", run.Stdout);
    }
}
