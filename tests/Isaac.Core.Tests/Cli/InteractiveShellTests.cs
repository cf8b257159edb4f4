using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Cli;

/// <summary>The interactive prompt in a real terminal (tmux).</summary>
public sealed class InteractiveShellTests : IDisposable
{
    private readonly TempDir _home = new();

    public void Dispose() => _home.Dispose();

    private TmuxSession StartIsaac()
    {
        // CI=true would make Isaac non-interactive; a person at a terminal is what this test is about.
        var command = $"env -u CI ISAAC_HOME='{_home.Path}' ISAAC_DEVICE=tty-device '{Fixtures.IsaacExe}'; echo \"ISAAC EXITED $?\"; sleep 60";
        return TmuxSession.Start(command);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_prompt_completes_command_names_runs_them_and_keeps_history()
    {
        // Arrange
        File.WriteAllLines(Directory.CreateDirectory(_home.Path).FullName + "/history", ["/sysinfo"]);
        using var tmux = StartIsaac();
        await tmux.WaitForAsync("isaac>");

        // Act: complete "/he" with Tab, run it; then recall the stored history entry with Up.
        tmux.Type("/he");
        tmux.SendKeys("Tab");
        await tmux.WaitForAsync("isaac> /help");
        tmux.SendKeys("Enter");
        var afterHelp = await tmux.WaitForAsync("Show this device");
        tmux.SendKeys("Up", "Up");
        await tmux.WaitForAsync(s => s.TrimEnd().EndsWith("isaac> /sysinfo", StringComparison.Ordinal), "history recall");
        tmux.SendKeys("Enter");
        var afterSysinfo = await tmux.WaitForAsync("tty-device");
        tmux.Type("exit");
        tmux.SendKeys("Enter");
        await tmux.WaitForAsync("ISAAC EXITED 0");

        // Assert
        Assert.Contains("/sysinfo", afterHelp);
        Assert.Contains("Description", afterHelp);
        Assert.Contains("uptime", afterSysinfo);
        Assert.Equal(["/sysinfo", "/help", "/sysinfo", "exit"], File.ReadAllLines(_home.Combine("history")));
    }

    [Fact(Timeout = 60_000)]
    public async Task Ctrl_c_cancels_the_running_handler_and_the_shell_lives_on()
    {
        // Arrange
        var pid = _home.Combine("pid");
        TestManifests.Script(_home.Combine("commands"), "slow", $"echo $$ > '{pid}'; sleep 60", timeoutMs: 60_000);
        using var tmux = StartIsaac();
        await tmux.WaitForAsync("isaac>");

        // Act
        tmux.Type("/slow");
        tmux.SendKeys("Enter");
        await WaitForFileAsync(pid);
        tmux.SendKeys("C-c");
        var cancelled = await tmux.WaitForAsync("CANCELLED");
        tmux.Type("echo still-alive");
        tmux.SendKeys("Enter");
        var alive = await tmux.WaitForAsync(s => s.Split('\n').Any(l => l.Trim() == "still-alive"), "the shell to answer");

        // Assert
        Assert.Contains("isaac: CANCELLED: Cancelled: /slow", cancelled);
        Assert.DoesNotContain("ISAAC EXITED", alive);
        Assert.False(Fixtures.IsRunning(int.Parse(File.ReadAllText(pid).Trim())));
    }

    private static async Task WaitForFileAsync(string path)
    {
        for (var i = 0; i < 200 && !File.Exists(path); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(File.Exists(path), $"{path} never appeared");
    }
}
