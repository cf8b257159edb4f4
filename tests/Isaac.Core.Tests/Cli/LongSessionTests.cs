using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Cli;

/// <summary>What a shell left open for a long time keeps, and how its prompt waits for keys (a real terminal, tmux).</summary>
public sealed class LongSessionTests : IDisposable
{
    private const int HistoryLimit = 1000; // InteractiveShell.HistoryLimit

    private readonly TempDir _home = new();

    public void Dispose() => _home.Dispose();

    private TmuxSession StartIsaac() =>
        TmuxSession.Start($"env -u CI ISAAC_HOME='{_home.Path}' ISAAC_DEVICE=tty-device '{Fixtures.IsaacExe}'; echo \"ISAAC EXITED $?\"; sleep 60");

    [Fact(Timeout = 120_000)]
    public async Task The_editor_forgets_lines_older_than_the_history_limit()
    {
        // Arrange: one line, then the limit's worth of newer ones, all different (built-ins: nothing to spawn).
        using var tmux = StartIsaac();
        await tmux.WaitForAsync("isaac>");
        string[] lines = ["cd ./oldest", .. Enumerable.Range(1, HistoryLimit).Select(i => $"cd ./n{i}")];
        var typed = 0;
        foreach (var batch in lines.Chunk(100))
        {
            tmux.SendKeys([.. batch.SelectMany(line => new[] { line, "Enter" })]);
            await WaitForHistoryAsync(typed += batch.Length);
        }

        // Act: walk back to the limit, checking each hundred steps, then one step further.
        for (var steps = 100; steps <= HistoryLimit; steps += 100)
        {
            tmux.SendKeys([.. Enumerable.Repeat("Up", 100)]);
            var expected = "isaac> " + lines[^steps];
            await tmux.WaitForAsync(s => PromptLine(s) == expected, $"'{expected}' after {steps} steps back");
        }

        tmux.SendKeys("Up");
        tmux.Type(" #walked");
        var screen = await tmux.WaitForAsync(s => PromptLine(s).EndsWith("#walked", StringComparison.Ordinal), "the last step back");

        // Assert: the oldest line is gone from the editor (the step went nowhere); the file still has every line.
        Assert.Equal($"isaac> {lines[1]} #walked", PromptLine(screen));
        Assert.Equal(lines, File.ReadAllLines(_home.Combine("history")));
    }

    [Fact(Timeout = 60_000)]
    public async Task Ctrl_c_at_the_prompt_drops_the_line_and_a_pasted_pair_of_lines_runs_in_order()
    {
        // Arrange
        using var tmux = StartIsaac();
        await tmux.WaitForAsync("isaac>");

        // Act: Ctrl-C while the prompt waits for a key; then two lines arriving in one burst.
        tmux.Type("echo never-run");
        await tmux.WaitForAsync("isaac> echo never-run");
        tmux.SendKeys("C-c");
        await tmux.WaitForAsync(s => s.Split('\n').Count(l => l.StartsWith("isaac>", StringComparison.Ordinal)) == 2, "a new prompt");
        tmux.SendKeys("echo first-pasted", "Enter", "echo second-pasted", "Enter");
        var screen = await tmux.WaitForAsync(s => Output(s, "-pasted").Length == 2, "both pasted lines to run");

        // Assert
        Assert.Equal(["first-pasted", "second-pasted"], Output(screen, "-pasted"));
        Assert.DoesNotContain("ISAAC EXITED", screen);
        Assert.DoesNotContain("^C", screen);
        Assert.Equal(["echo first-pasted", "echo second-pasted"], File.ReadAllLines(_home.Combine("history")));
    }

    [Fact(Timeout = 60_000)]
    public async Task Lines_typed_while_a_command_runs_run_after_it_one_by_one()
    {
        // Arrange: a command that runs until the test lets it end.
        var started = _home.Combine("started");
        var release = _home.Combine("release");
        using var tmux = StartIsaac();
        await tmux.WaitForAsync("isaac>");
        tmux.Type($"touch '{started}'; while [ ! -f '{release}' ]; do sleep 0.05; done");
        tmux.SendKeys("Enter");
        await WaitForAsync(() => File.Exists(started), "the command to start");

        // Act: two lines typed ahead (the terminal is in line mode for the running command), then the command ends.
        tmux.SendKeys("echo ahead-one", "Enter", "echo ahead-two", "Enter");
        await tmux.WaitForAsync("echo ahead-two");
        File.WriteAllText(release, "");
        var screen = await tmux.WaitForAsync(s => Output(s, "ahead-").Length == 2, "both lines typed ahead to run");

        // Assert
        Assert.Equal(["ahead-one", "ahead-two"], Output(screen, "ahead-"));
        Assert.Equal(["echo ahead-one", "echo ahead-two"], File.ReadAllLines(_home.Combine("history"))[1..]);
    }

    private static string PromptLine(string screen) => screen.Split('\n').Last(l => l.StartsWith("isaac>", StringComparison.Ordinal)).TrimEnd();

    // Lines a command printed (one word, containing <paramref name="word"/>), in screen order; never the echo of a line typed.
    private static string[] Output(string screen, string word) =>
        [.. screen.Split('\n').Select(l => l.Trim()).Where(l => l.Contains(word, StringComparison.Ordinal) && !l.Contains(' ', StringComparison.Ordinal))];

    private int CountHistory() => File.Exists(_home.Combine("history")) ? File.ReadAllLines(_home.Combine("history")).Length : 0;

    private Task WaitForHistoryAsync(int count) => WaitForAsync(() => CountHistory() >= count, $"the shell to take {count} lines");

    private static async Task WaitForAsync(Func<bool> done, string what)
    {
        for (var i = 0; i < 1200 && !done(); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(done(), $"Timed out waiting for {what}.");
    }
}
