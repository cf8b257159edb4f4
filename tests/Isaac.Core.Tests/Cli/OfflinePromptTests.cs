using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Cli;

/// <summary>The prompt in a real terminal while the hub goes away and comes back.</summary>
public sealed class OfflinePromptTests : IDisposable
{
    private readonly HubHarness _hub = new();

    public void Dispose() => _hub.Dispose();

    [Fact(Timeout = 90_000)]
    public async Task The_prompt_shows_what_is_queued_while_the_hub_is_away_and_announces_the_sync()
    {
        // Arrange: devices registered, hub not running; this shell probes quickly.
        await _hub.AddDevicesAsync("desktop", "laptop2");
        File.WriteAllText(Path.Combine(_hub.Home("desktop"), "config.yaml"), "sync:\n  offline_probe_min_seconds: 0.2\n  offline_probe_max_seconds: 0.5\n");
        var environment = string.Join(' ', _hub.Environment("desktop").Select(e => $"{e.Key}='{e.Value}'"));
        using var tmux = TmuxSession.Start($"env -u CI {environment} '{Fixtures.IsaacExe}'");
        await tmux.WaitForAsync("isaac>");

        // Act
        tmux.Type("!laptop2 /sysinfo");
        tmux.SendKeys("Enter");
        var offline = await tmux.WaitForAsync("isaac [OFFLINE: 1 queued]>");
        await _hub.StartHubAsync();
        var synced = await tmux.WaitForAsync("1 queued command(s) synced", timeoutMs: 30_000);

        // Assert
        Assert.Contains("Command queued (#1) - will sync when online", offline);
        var after = synced[synced.IndexOf("1 queued command(s) synced", StringComparison.Ordinal)..];
        Assert.Contains("isaac>", after);
        Assert.DoesNotContain("OFFLINE", after);
    }

    [Fact(Timeout = 90_000)]
    public async Task Plain_commands_typed_at_the_shell_reach_the_shared_history_on_the_hub_without_counting_as_queued()
    {
        // Arrange
        await _hub.AddDevicesAsync("desktop");
        await _hub.StartHubAsync();
        var environment = string.Join(' ', _hub.Environment("desktop").Select(e => $"{e.Key}='{e.Value}'"));
        using var tmux = TmuxSession.Start($"env -u CI {environment} '{Fixtures.IsaacExe}'");
        await tmux.WaitForAsync("isaac>");

        // Act
        tmux.Type("echo hello-history");
        tmux.SendKeys("Enter");
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _hub.Token("desktop"));
        var history = "";
        while (!history.Contains("hello-history", StringComparison.Ordinal))
        {
            await Task.Delay(100);
            history = await http.GetStringAsync(_hub.Address + "/v1/history");
        }

        tmux.SendKeys("Enter");
        var screen = await tmux.WaitForAsync(text => text.Split("isaac").Length > 3, "the prompt drawn a third time");

        // Assert: shared history is not the user's queued work
        Assert.Contains("\"device\":\"desktop\"", history);
        Assert.Contains("\"text\":\"echo hello-history\"", history);
        Assert.DoesNotContain("OFFLINE", screen);
        Assert.DoesNotContain("synced", screen);
    }
}
