using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Cli;

/// <summary>Every key binding of the prompt, typed into a real terminal (tmux): what the screen shows, and what ran.</summary>
public sealed class LineEditingTests : IDisposable
{
    private readonly TempDir _home = new();

    public void Dispose() => _home.Dispose();

    private async Task<TmuxSession> StartIsaacAsync(string[]? history = null, int width = 140, string environment = "")
    {
        if (history is not null)
        {
            File.WriteAllLines(Directory.CreateDirectory(_home.Path).FullName + "/history", history);
        }

        var tmux = TmuxSession.Start(
            $"env -u CI -u NO_COLOR {environment} ISAAC_HOME='{_home.Path}' ISAAC_DEVICE=tty-device '{Fixtures.IsaacExe}'; echo \"ISAAC EXITED $?\"; sleep 60",
            width);
        await tmux.WaitForAsync("isaac>");
        return tmux;
    }

    private static string PromptLine(string screen) =>
        screen.Split('\n').Last(l => l.StartsWith("isaac", StringComparison.Ordinal) || l.StartsWith("(", StringComparison.Ordinal)).TrimEnd();

    private static Task<string> PromptIsAsync(TmuxSession tmux, string expected) =>
        tmux.WaitForAsync(s => PromptLine(s) == expected, $"the prompt line '{expected}'");

    // Lines a command printed: exactly the text, never the echo of a typed line or the search being typed.
    private static string[] Printed(string screen, string word) =>
        [.. screen.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Contains(word, StringComparison.Ordinal) && !l.StartsWith("isaac", StringComparison.Ordinal) && !l.StartsWith("(reverse-i-search)", StringComparison.Ordinal))];

    [Fact(Timeout = 60_000)]
    public async Task Emacs_motion_and_kill_keys_edit_the_line_and_what_runs_is_what_was_shown()
    {
        // Arrange
        using var tmux = await StartIsaacAsync();

        // Act / Assert: each key's effect on the screen.
        tmux.Type("world hello");
        tmux.SendKeys("C-a", "M-d");
        await PromptIsAsync(tmux, "isaac>  hello");
        tmux.SendKeys("C-e", "Space", "C-y");
        await PromptIsAsync(tmux, "isaac>  hello world");
        tmux.SendKeys("Home");
        tmux.Type("echo");
        await PromptIsAsync(tmux, "isaac> echo hello world");
        tmux.SendKeys("C-e", "M-b", "C-k");
        await PromptIsAsync(tmux, "isaac> echo hello");
        tmux.SendKeys("C-y", "M-b", "M-b", "M-f", "C-f", "C-w");
        await PromptIsAsync(tmux, "isaac> echo world");
        tmux.SendKeys("C-e", "C-u");
        await PromptIsAsync(tmux, "isaac>");
        tmux.Type("echo abcdef");
        tmux.SendKeys("Left", "Left", "C-b", "BSpace", "Delete", "C-d", "Right", "End", "BSpace");
        tmux.Type("XYZ");
        await PromptIsAsync(tmux, "isaac> echo abXYZ");
        tmux.SendKeys("Enter");
        var screen = await tmux.WaitForAsync(s => Printed(s, "XYZ").Length == 1, "the line to run");

        // Assert
        Assert.Equal(["abXYZ"], Printed(screen, "XYZ"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Ctrl_c_drops_the_line_without_residue_esc_empties_it_and_ctrl_d_exits_only_on_an_empty_line()
    {
        // Arrange
        using var tmux = await StartIsaacAsync();

        // Act
        tmux.Type("echo never-run");
        await PromptIsAsync(tmux, "isaac> echo never-run");
        tmux.SendKeys("C-c");
        await tmux.WaitForAsync(s => s.Split('\n').Count(l => l.StartsWith("isaac>", StringComparison.Ordinal)) == 2, "a new prompt");
        tmux.Type("echo gone");
        await PromptIsAsync(tmux, "isaac> echo gone");
        tmux.SendKeys("Escape");
        await PromptIsAsync(tmux, "isaac>");
        tmux.Type("echo x");
        tmux.SendKeys("Home", "C-d");
        await PromptIsAsync(tmux, "isaac> cho x");
        tmux.SendKeys("C-e", "C-u", "C-d");
        var screen = await tmux.WaitForAsync("ISAAC EXITED 0");

        // Assert
        Assert.DoesNotContain("^C", screen);
        Assert.Empty(Printed(screen, "never-run"));
        Assert.Empty(Printed(screen, "gone"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Ctrl_l_clears_the_screen_and_keeps_the_line()
    {
        // Arrange
        using var tmux = await StartIsaacAsync();
        tmux.Type("echo marker-before");
        tmux.SendKeys("Enter");
        await tmux.WaitForAsync(s => Printed(s, "marker-before").Length == 1, "the first line to run");

        // Act
        tmux.Type("echo kept");
        tmux.SendKeys("C-l");
        var screen = await tmux.WaitForAsync(s => !s.Contains("marker-before", StringComparison.Ordinal), "the screen to clear");

        // Assert
        Assert.StartsWith("isaac> echo kept", screen, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Ctrl_r_finds_older_matches_enter_runs_the_match_and_esc_restores_the_line()
    {
        // Arrange
        using var tmux = await StartIsaacAsync(["echo alpha-one", "ls", "echo alpha-two", "pwd"]);

        // Act: Esc gives back what was typed.
        tmux.Type("echo typed");
        await PromptIsAsync(tmux, "isaac> echo typed");
        tmux.SendKeys("C-r");
        tmux.Type("alp");
        await PromptIsAsync(tmux, "(reverse-i-search)`alp': echo alpha-two");
        tmux.SendKeys("Escape");
        await PromptIsAsync(tmux, "isaac> echo typed");

        // Act: again, one match older, then Enter.
        tmux.SendKeys("C-u", "C-r");
        tmux.Type("alp");
        tmux.SendKeys("C-r");
        await PromptIsAsync(tmux, "(reverse-i-search)`alp': echo alpha-one");
        tmux.SendKeys("Enter");
        var screen = await tmux.WaitForAsync(s => Printed(s, "alpha-").Length == 1, "the match to run");

        // Assert
        Assert.Equal(["alpha-one"], Printed(screen, "alpha-"));
    }

    [Fact(Timeout = 60_000)]
    public async Task The_history_suggestion_is_dim_right_arrow_accepts_it_and_alt_f_accepts_one_word()
    {
        // Arrange
        using var tmux = await StartIsaacAsync(["echo suggested-line"]);

        // Act: the right arrow takes all of it.
        tmux.Type("echo sug");
        await PromptIsAsync(tmux, "isaac> echo suggested-line");
        var styled = tmux.StyledScreen();
        tmux.SendKeys("Right", "Enter");
        var all = await tmux.WaitForAsync(s => Printed(s, "suggested").Length == 1, "the whole suggestion to run");

        // Act: Alt-F takes one word of it.
        tmux.Type("echo sug");
        await PromptIsAsync(tmux, "isaac> echo suggested-line");
        tmux.SendKeys("M-f", "Enter");
        var oneWord = await tmux.WaitForAsync(s => Printed(s, "suggested").Length == 2, "the first word to run");

        // Assert
        Assert.Matches(@"\e\[90m(\e\[\d+m)*gested-line", styled);
        Assert.Equal(["suggested-line"], Printed(all, "suggested"));
        Assert.Equal(["suggested-line", "suggested"], Printed(oneWord, "suggested"));
    }

    [Fact(Timeout = 90_000)]
    public async Task History_is_shared_by_concurrent_shells_kept_once_per_line_and_read_again_at_start()
    {
        // Arrange: two shells of one ISAAC_HOME at the same time.
        using var first = await StartIsaacAsync();
        using var second = await StartIsaacAsync();

        // Act
        var written = 0;
        foreach (var (tmux, line) in new[] { (first, "echo same"), (first, "echo from-first"), (second, "echo from-second"), (first, "echo same") })
        {
            tmux.Type(line);
            tmux.SendKeys("Enter");
            written++;
            await tmux.WaitForAsync(_ => HistoryLines() == written, $"'{line}' in the history file");
        }

        using var third = await StartIsaacAsync();
        var recalled = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            third.SendKeys("Up");
            var expected = i switch { 0 => "echo same", 1 => "echo from-second", _ => "echo from-first" };
            recalled.Add(PromptLine(await PromptIsAsync(third, $"isaac> {expected}")));
        }

        // Assert: the file is the log of both shells; the recall list holds each line once, newest place kept.
        Assert.Equal(["echo same", "echo from-first", "echo from-second", "echo same"], File.ReadAllLines(_home.Combine("history")));
        Assert.Equal(["isaac> echo same", "isaac> echo from-second", "isaac> echo from-first", "isaac> echo from-first"], recalled);
    }

    private int HistoryLines() => File.Exists(_home.Combine("history")) ? File.ReadAllLines(_home.Combine("history")).Length : 0;

    [Fact(Timeout = 60_000)]
    public async Task Tab_lists_ambiguous_commands_with_descriptions_completes_the_rest_and_lists_a_commands_arguments()
    {
        // Arrange
        using var tmux = await StartIsaacAsync();

        // Act
        tmux.Type("/sy");
        tmux.SendKeys("Tab");
        var listed = await tmux.WaitForAsync(s => s.Contains("/sysinfo  Show this device", StringComparison.Ordinal), "the candidates");
        tmux.Type("si");
        tmux.SendKeys("Tab");
        await PromptIsAsync(tmux, "isaac> /sysinfo");
        tmux.SendKeys("Tab");
        var arguments = await tmux.WaitForAsync("[format]");

        // Assert
        Assert.Contains("/sync     Try the hub now", listed);
        Assert.Equal("isaac> /sy", PromptLine(listed));
        Assert.Contains("'text' (the default) or 'json'", arguments);
        Assert.Equal("isaac> /sysinfo", PromptLine(arguments));
    }

    [Fact(Timeout = 60_000)]
    public async Task Tab_completes_file_paths_for_plain_commands()
    {
        // Arrange
        var folder = Directory.CreateDirectory(_home.Combine("files")).FullName;
        File.WriteAllText(Path.Combine(folder, "alpha-file.txt"), "contents-of-alpha");
        Directory.CreateDirectory(Path.Combine(folder, "alpha-dir"));
        using var tmux = await StartIsaacAsync();
        tmux.Type($"cd {folder}");
        tmux.SendKeys("Enter");

        // Act
        tmux.Type("cat alp");
        tmux.SendKeys("Tab");
        await PromptIsAsync(tmux, "isaac> cat alpha-");
        tmux.SendKeys("Tab");
        var listed = await tmux.WaitForAsync("alpha-file.txt");
        tmux.Type("f");
        tmux.SendKeys("Tab");
        await PromptIsAsync(tmux, "isaac> cat alpha-file.txt");
        tmux.SendKeys("Enter");
        var screen = await tmux.WaitForAsync(s => Printed(s, "contents-of-alpha").Length == 1, "cat to run");

        // Assert
        Assert.Contains("alpha-dir/", listed);
        Assert.Equal(["contents-of-alpha⏎"], Printed(screen, "contents-of-alpha")); // output with no line end is marked, not drawn over
    }

    [Fact(Timeout = 60_000)]
    public async Task A_multi_line_paste_waits_for_enter_then_runs_its_lines_in_order()
    {
        // Arrange
        using var tmux = await StartIsaacAsync();

        // Act
        tmux.Paste("echo pasted-one\necho pasted-two\n");
        var waiting = await PromptIsAsync(tmux, "isaac> echo pasted-one↵echo pasted-two");
        tmux.SendKeys("Enter");
        var screen = await tmux.WaitForAsync(s => Printed(s, "pasted-").Length == 2, "both pasted lines to run");

        // Assert
        Assert.Empty(Printed(waiting, "pasted-"));
        Assert.Equal(["pasted-one", "pasted-two"], Printed(screen, "pasted-"));
        Assert.Equal(["echo pasted-one", "echo pasted-two"], File.ReadAllLines(_home.Combine("history")));
    }

    [Fact(Timeout = 60_000)]
    public async Task Wide_characters_on_a_wrapping_line_redraw_in_place_and_run_as_typed()
    {
        // Arrange: a terminal 40 columns wide; the line takes three rows.
        using var tmux = await StartIsaacAsync(width: 40);
        const string text = "日本語テキスト 長い行を折り返して表示するテストです end";

        // Act: type, go home, fix the start, fast backspaces at the end, then more text.
        tmux.Type("X " + text + "zzz");
        tmux.SendKeys("C-a", "Delete", "Delete");
        tmux.Type("echo ");
        tmux.SendKeys("C-e", "BSpace", "BSpace", "BSpace");
        tmux.Type("!");
        await tmux.WaitForAsync(_ => tmux.JoinedScreen().Split('\n').Any(l => l.TrimEnd() == $"isaac> echo {text}!"), "the wrapped line");
        var typed = tmux.Screen();
        var joined = tmux.JoinedScreen();
        tmux.SendKeys("C-a");
        await tmux.WaitForAsync(_ => tmux.Cursor().Column == 7, "the cursor after the prompt");
        var home = tmux.Cursor();
        tmux.SendKeys("Enter");
        await tmux.WaitForAsync(_ => tmux.JoinedScreen().Split('\n').Any(l => l.TrimEnd() == text + "!"), "the line to run");
        var screen = tmux.Screen();

        // Assert: the rows hold exactly the line (nothing stale), and Ctrl-A went up to the prompt's row.
        Assert.Contains($"isaac> echo {text}!", joined.Split('\n').Select(l => l.TrimEnd()));
        Assert.Equal(typed.Split('\n').ToList().FindIndex(l => l.StartsWith("isaac> echo", StringComparison.Ordinal)), home.Row);
        Assert.DoesNotContain("zzz", screen);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_first_word_is_coloured_by_what_it_is_and_no_color_turns_colour_off()
    {
        // Arrange
        using var tmux = await StartIsaacAsync();
        using var plain = await StartIsaacAsync(environment: "NO_COLOR=1");

        // Act
        var styles = new List<string>();
        foreach (var word in new[] { "/sysinfo", "/nosuch", "!laptop" })
        {
            tmux.SendKeys("C-u");
            tmux.Type(word);
            await PromptIsAsync(tmux, $"isaac> {word}");
            styles.Add(tmux.StyledScreen());
        }

        plain.Type("/sysinfo");
        await PromptIsAsync(plain, "isaac> /sysinfo");
        var uncoloured = plain.StyledScreen();

        // Assert
        Assert.Matches(@"\e\[32m(\e\[\d+m)*/sysinfo", styles[0]);
        Assert.Matches(@"\e\[31m(\e\[\d+m)*/nosuch", styles[1]);
        Assert.Matches(@"\e\[36m(\e\[\d+m)*!laptop", styles[2]);
        Assert.DoesNotContain("\u001b[", uncoloured);
    }
}
