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

    [Fact(Timeout = 90_000)]
    public async Task The_count_and_notices_redraw_without_a_key_while_a_line_is_half_typed()
    {
        // Arrange: devices registered, hub not running; this shell probes quickly.
        await _hub.AddDevicesAsync("desktop", "laptop2");
        File.WriteAllText(Path.Combine(_hub.Home("desktop"), "config.yaml"), "sync:\n  offline_probe_min_seconds: 0.2\n  offline_probe_max_seconds: 0.5\n");
        var environment = string.Join(' ', _hub.Environment("desktop").Select(e => $"{e.Key}='{e.Value}'"));
        using var tmux = TmuxSession.Start($"env -u CI {environment} '{Fixtures.IsaacExe}'");
        await tmux.WaitForAsync("isaac>");
        tmux.Type("echo half-typed");
        tmux.SendKeys("Left", "Left");
        await tmux.WaitForAsync("isaac> echo half-typed");

        // Act: another process queues a command; then the hub comes back and the queue drains.
        var other = await _hub.RunAsync("desktop", "!laptop2 /sysinfo");
        var queued = await tmux.WaitForAsync("isaac [OFFLINE: 1 queued]> echo half-typed");
        var cursorWhileQueued = tmux.Cursor();
        await _hub.StartHubAsync();
        var synced = await tmux.WaitForAsync(s => s.Contains("1 queued command(s) synced", StringComparison.Ordinal)
            && s.TrimEnd().EndsWith("isaac> echo half-typed", StringComparison.Ordinal), "the sync notice above the line", timeoutMs: 30_000);
        tmux.SendKeys("End");
        tmux.Type("-done");
        tmux.SendKeys("Enter");
        var ran = await tmux.WaitForAsync(s => s.Split('\n').Any(l => l.Trim() == "half-typed-done"), "the typed line to run");

        // Assert: the count changed with no key pressed, the line and its cursor stayed, and it ran as typed.
        Assert.Contains("Command queued", other.Stdout + other.Stderr);
        Assert.Equal("isaac [OFFLINE: 1 queued]> echo half-typ".Length, cursorWhileQueued.Column);
        Assert.DoesNotContain("OFFLINE", synced[synced.IndexOf("synced", StringComparison.Ordinal)..]);
        Assert.Contains("half-typed-done", ran);
        Assert.Contains("isaac [OFFLINE: 1 queued]> echo half-typed", queued);
    }

    [Fact(Timeout = 90_000)]
    public async Task Device_names_complete_after_the_bang_from_the_hub_and_from_its_last_answer_when_it_is_away()
    {
        // Arrange
        await _hub.AddDevicesAsync("desktop", "laptop2");
        await _hub.StartHubAsync();
        var environment = string.Join(' ', _hub.Environment("desktop").Select(e => $"{e.Key}='{e.Value}'"));

        // Act: online, then a new shell with the hub gone.
        string online;
        using (var tmux = TmuxSession.Start($"env -u CI {environment} '{Fixtures.IsaacExe}'"))
        {
            await tmux.WaitForAsync("isaac>");
            online = await CompleteDeviceAsync(tmux);
        }

        _hub.KillHub();
        string offline;
        using (var tmux = TmuxSession.Start($"env -u CI {environment} '{Fixtures.IsaacExe}'"))
        {
            await tmux.WaitForAsync("isaac>");
            offline = await CompleteDeviceAsync(tmux);
        }

        // Assert
        Assert.Contains("isaac> !laptop2", online);
        Assert.Contains("isaac> !laptop2", offline);
    }

    // The shell reads the device list in the background as it starts: Tab again until it has.
    private static async Task<string> CompleteDeviceAsync(TmuxSession tmux)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            tmux.SendKeys("C-e", "C-u");
            tmux.Type("!lap");
            tmux.SendKeys("Tab");
            var screen = await tmux.WaitForAsync(s => s.Contains("isaac> !lap", StringComparison.Ordinal), "the typed prefix");
            for (var i = 0; i < 10 && !screen.Contains("isaac> !laptop2", StringComparison.Ordinal); i++)
            {
                await Task.Delay(50);
                screen = tmux.Screen();
            }

            if (screen.Contains("isaac> !laptop2", StringComparison.Ordinal) || clock.ElapsedMilliseconds > 20_000)
            {
                return screen;
            }
        }
    }
}
