using System.Text.Json;
using Isaac.Core.Queue;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Cli;

/// <summary>The /queue plugin through the real isaac executable and a real queue.db.</summary>
public sealed class QueueCommandTests : IDisposable
{
    private readonly TempDir _home = new();

    public void Dispose() => _home.Dispose();

    /// <summary>One failed (retrying in an hour, however slowly the machine starts isaac), one dead, then two waiting.</summary>
    private async Task<(long Failed, long Dead, long Waiting, long Waiting2)> SeedAsync()
    {
        await using var queue = new CommandQueue(_home.Combine("queue.db"), QueueOptions.Default with { MaxAttempts = 2, BaseBackoff = TimeSpan.FromHours(1), MaxBackoff = TimeSpan.FromHours(2) });
        async Task<long> EnqueueAsync(string text, string target) =>
            (await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.DeviceRoute, Text = text, Target = target })).Id;

        var failed = await EnqueueAsync("!laptop2 /status", "laptop2");
        var dead = await EnqueueAsync("!nas /gone", "nas");
        await queue.ClaimAsync();
        await queue.MarkFailedAsync(failed, "hub unreachable");
        await queue.MarkFailedAsync(dead, "device refused");
        await queue.MarkFailedAsync(dead, "device refused again");
        return (failed, dead, await EnqueueAsync("!desktop /sysinfo", "desktop"), await EnqueueAsync("!nas /df", "nas"));
    }

    [Fact(Timeout = 30_000)]
    public async Task An_empty_queue_says_so()
    {
        var run = await IsaacProcess.RunAsync(_home.Path, "-c", "/queue");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("No commands queued\n", run.Stdout);
    }

    [Fact(Timeout = 30_000)]
    public async Task The_queue_lists_waiting_commands_with_their_state()
    {
        var ids = await SeedAsync();

        var run = await IsaacProcess.RunAsync(_home.Path, "-c", "/queue");

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.Stdout.Split('\n');
        Assert.StartsWith("Queue Status: 2 pending, 1 failed, 1 dead (/queue dead)", lines[0]);
        Assert.Contains(lines, l => l.StartsWith($"#{ids.Failed}", StringComparison.Ordinal) && l.Contains("hub unreachable") && l.Contains("in "));
        Assert.Contains(lines, l => l.StartsWith($"#{ids.Waiting}", StringComparison.Ordinal) && l.Contains("desktop") && l.Contains("when online"));
        Assert.DoesNotContain(lines, l => l.StartsWith($"#{ids.Dead}", StringComparison.Ordinal));
    }

    [Fact(Timeout = 30_000)]
    public async Task Failed_and_dead_views_and_json_output()
    {
        var ids = await SeedAsync();

        var failed = await IsaacProcess.RunAsync(_home.Path, "-c", "/queue failed");
        var dead = await IsaacProcess.RunAsync(_home.Path, "-c", "/queue dead");
        var json = await IsaacProcess.RunAsync(_home.Path, "-c", "/queue --json");

        Assert.Contains($"#{ids.Failed}", failed.Stdout);
        Assert.DoesNotContain($"#{ids.Waiting}", failed.Stdout);
        Assert.Contains($"#{ids.Dead}", dead.Stdout);
        Assert.Contains("device refused again", dead.Stdout);
        using var document = JsonDocument.Parse(json.Stdout);
        Assert.Equal(2, document.RootElement.GetProperty("status").GetProperty("pending").GetInt32());
        Assert.Equal(3, document.RootElement.GetProperty("commands").GetArrayLength());
    }

    [Fact(Timeout = 30_000)]
    public async Task Retry_and_drop_change_the_queue()
    {
        var ids = await SeedAsync();

        var retry = await IsaacProcess.RunAsync(_home.Path, "-c", "/queue retry all");
        var drop = await IsaacProcess.RunAsync(_home.Path, "-c", $"/queue drop {ids.Waiting}");
        var again = await IsaacProcess.RunAsync(_home.Path, "-c", $"/queue drop {ids.Waiting}");
        var usage = await IsaacProcess.RunAsync(_home.Path, "-c", "/queue frobnicate");

        Assert.Equal("Retrying 2 command(s); they sync when the hub answers.\n", retry.Stdout);
        Assert.Equal($"Dropped #{ids.Waiting}\n", drop.Stdout);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains($"No waiting, failed or dead command #{ids.Waiting}", again.Stderr);
        Assert.Equal(2, usage.ExitCode);
        await using var queue = new CommandQueue(_home.Combine("queue.db"));
        Assert.Equal(3, (await queue.GetStatusAsync()).Queued);
    }

    [Fact(Timeout = 60_000)]
    public async Task At_a_terminal_drop_asks_first()
    {
        // Arrange
        var ids = await SeedAsync();
        using var tmux = TmuxSession.Start($"env -u CI ISAAC_HOME='{_home.Path}' '{Fixtures.IsaacExe}'");
        await tmux.WaitForAsync("isaac [OFFLINE: 3 queued]>");

        // Act: refuse once, then accept.
        tmux.Type($"/queue drop {ids.Waiting}");
        tmux.SendKeys("Enter");
        await tmux.WaitForAsync("for good?");
        tmux.Type("n");
        tmux.SendKeys("Enter");
        await tmux.WaitForAsync(s => s.Split('\n').Count(l => l.StartsWith("isaac [OFFLINE", StringComparison.Ordinal)) >= 2, "the prompt after 'n'");
        await using (var queue = new CommandQueue(_home.Combine("queue.db")))
        {
            Assert.Equal(3, (await queue.GetStatusAsync()).Queued);
        }

        tmux.Type($"/queue drop {ids.Waiting}");
        tmux.SendKeys("Enter");
        await tmux.WaitForAsync(s => s.Split('\n').Count(l => l.Contains("for good?")) >= 2, "the second question");
        tmux.Type("y");
        tmux.SendKeys("Enter");
        var screen = await tmux.WaitForAsync($"Dropped #{ids.Waiting}");

        // Assert
        Assert.Contains("for good?", screen);
        await using var after = new CommandQueue(_home.Combine("queue.db"));
        Assert.Equal(2, (await after.GetStatusAsync()).Queued);
    }
}
