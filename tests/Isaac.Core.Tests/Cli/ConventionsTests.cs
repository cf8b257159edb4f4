using System.Text;
using System.Text.RegularExpressions;
using CliWrap;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Cli;

/// <summary>
/// The command-line conventions people bring from other tools (issue 12, "Conventions"): NO_COLOR and --no-color,
/// -v and -q, one-line start-up errors with documented exit codes, cd as in bash, and the automation markers.
/// Colour is checked in a real pseudo-terminal (util-linux <c>script</c>), since Isaac never colours a pipe.
/// </summary>
public sealed partial class ConventionsTests : IDisposable
{
    private readonly TempDir _home = new();

    public void Dispose() => _home.Dispose();

    [GeneratedRegex(@"\x1b\[[0-9;]*m")]
    private static partial Regex Sgr();

    [Fact(Timeout = 60_000)]
    public async Task Errors_and_tables_are_coloured_on_a_terminal_and_never_with_NO_COLOR_or_no_color()
    {
        // Act
        var coloured = await InTerminalAsync("-c /nope; -c /help", noColor: null);
        var emptyNoColor = await InTerminalAsync("-c /nope", noColor: "");
        var noColor = await InTerminalAsync("-c /nope; -c /help", noColor: "1");
        var flag = await InTerminalAsync("--no-color -c /nope; --no-color -c /help", noColor: null);

        // Assert
        Assert.Contains("\u001b[31misaac: NOT_FOUND", coloured);
        Assert.Contains("/sysinfo", coloured);
        Assert.True(Sgr().Matches(coloured).Count > 2, coloured); // the red error and the table's bold header
        Assert.Matches(Sgr(), emptyNoColor); // an empty NO_COLOR does not count (no-color.org)
        foreach (var plain in new[] { noColor, flag })
        {
            Assert.Contains("isaac: NOT_FOUND", plain);
            Assert.Contains("/sysinfo", plain);
            Assert.DoesNotMatch(Sgr(), plain);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task An_error_written_to_a_pipe_is_never_coloured()
    {
        // Act
        var run = await IsaacProcess.RunAsync(_home.Path, "-c", "/nope");

        // Assert
        Assert.Equal(127, run.ExitCode);
        Assert.StartsWith("isaac: NOT_FOUND", run.Stderr);
        Assert.DoesNotContain("\u001b", run.Stderr + run.Stdout);
    }

    [Fact(Timeout = 60_000)]
    public async Task No_color_reaches_the_handlers_as_NO_COLOR()
    {
        // Arrange: on a terminal a handler is interactive and gets no NO_COLOR unless asked
        TestManifests.Script(_home.Combine("commands"), "paint",
            """read -r _; printf '{"status":"success","stdout":"NO_COLOR=%s"}' "${NO_COLOR:-unset}" """);

        // Act
        var plain = await InTerminalAsync("-c /paint", noColor: null);
        var flagged = await InTerminalAsync("--no-color -c /paint", noColor: null);

        // Assert
        Assert.Contains("NO_COLOR=unset", plain);
        Assert.Contains("NO_COLOR=1", flagged);
    }

    [Fact(Timeout = 60_000)]
    public async Task Verbose_shows_the_log_on_stderr_and_quiet_leaves_out_the_hints()
    {
        // Act: the first queued route creates queue.db, which logs its schema upgrade
        var normal = await IsaacProcess.RunAsync(_home.Path, "-c", "!laptop2 /status");
        using var other = new TempDir();
        var verbose = await IsaacProcess.RunAsync(other.Path, "-v", "-c", "!laptop2 /status");
        var quietAdd = await IsaacProcess.RunAsync(_home.Path, "hub", "add-device", "quiet1", "-q", "--data", _home.Combine("hub"));
        var normalAdd = await IsaacProcess.RunAsync(_home.Path, "hub", "add-device", "loud1", "--data", _home.Combine("hub"));

        // Assert
        Assert.True(verbose.ExitCode == 0, verbose.ToString());
        Assert.DoesNotContain("schema version", normal.Stderr);
        Assert.Matches(@"\d\d:\d\d:\d\d INF .*queue\.db upgraded to schema version", verbose.Stderr);
        Assert.Equal(0, quietAdd.ExitCode);
        Assert.StartsWith("isk_", quietAdd.Stdout);
        Assert.Equal("", quietAdd.Stderr);
        Assert.Contains("This token is shown once", normalAdd.Stderr);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_command_line_Isaac_cannot_read_is_one_line_and_exit_code_2()
    {
        // Act
        var unknown = await IsaacProcess.RunAsync(_home.Path, "--colour");
        var both = await IsaacProcess.RunAsync(_home.Path, "-v", "-q", "-c", "true");
        var shell = await IsaacProcess.RunAsync(_home.Path, "completion", "tcsh");

        // Assert
        foreach (var (run, says) in new[] { (unknown, "'--colour'"), (both, "cannot be used together"), (shell, "'tcsh'") })
        {
            Assert.Equal(2, run.ExitCode);
            Assert.Equal("", run.Stdout);
            var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("isaac: ", line);
            Assert.Contains(says, line);
            Assert.EndsWith("Run 'isaac --help' for the commands and options.", line);
        }
    }

    [Theory(Timeout = 30_000)]
    [InlineData("agent")]
    [InlineData("hub")]
    public async Task An_isaac_home_that_cannot_be_written_is_one_line_naming_it_and_exit_code_1(string command)
    {
        // Arrange: a home under a regular file can never be created, whoever runs the test (root included)
        var file = _home.Write("not-a-folder", "");
        var home = Path.Combine(file, "home");
        var environment = new Dictionary<string, string?> { ["ISAAC_HOME"] = home, ["ISAAC_DEVICE"] = "desktop", ["ISAAC_HUB"] = "http://127.0.0.1:9", ["ISAAC_TOKEN"] = "isk_x" };

        // Act
        var run = await IsaacProcess.RunWithEnvironmentAsync(environment, [command, .. command == "hub" ? new[] { "--urls", "http://127.0.0.1:0" } : []]);

        // Assert
        Assert.Equal(1, run.ExitCode);
        var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"isaac: {(command == "hub" ? Path.Combine(home, "hub") : home)}: Isaac cannot write here (", line);
        Assert.EndsWith("Set ISAAC_HOME to a folder this user can write, or fix this one's permissions.", line);
    }

    [Fact(Timeout = 60_000)]
    public async Task An_interactive_shell_whose_home_cannot_be_written_says_so_in_one_line_and_exits_1()
    {
        // Arrange
        var home = Path.Combine(_home.Write("not-a-folder", ""), "home");

        // Act
        using var tmux = TmuxSession.Start($"{ConventionsTerminal.WithoutMarkers} ISAAC_HOME='{home}' ISAAC_DEVICE=tty-device '{Fixtures.IsaacExe}'; echo \"ISAAC EXITED $?\"; sleep 60", width: 250);
        var screen = await tmux.WaitForAsync("ISAAC EXITED");

        // Assert
        var lines = screen.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"isaac: {home}: Isaac cannot write here (", lines[0]);
        Assert.Equal("ISAAC EXITED 1", lines[1].Trim());
    }

    [Fact(Timeout = 30_000)]
    public async Task Cd_understands_the_home_variables_and_the_previous_directory()
    {
        // Arrange
        var home = Directory.CreateDirectory(_home.Combine("me")).FullName;
        var projects = Directory.CreateDirectory(_home.Combine("me", "projects", "isaac")).FullName;
        var spaced = Directory.CreateDirectory(_home.Combine("with space")).FullName;
        var environment = new Dictionary<string, string?>
        {
            ["ISAAC_HOME"] = _home.Combine("isaac-home"),
            ["ISAAC_DEVICE"] = "desktop",
            ["HOME"] = home,
            ["WORK"] = projects,
        };
        string[] script =
        [
            "cd ~", "pwd", "cd $WORK", "pwd", "cd -", "pwd", "cd ${HOME}/projects", "pwd", "cd ~/projects/isaac", "pwd",
            $"cd \"{spaced}\"", "pwd", "cd", "pwd", "cd /no/such/folder", "pwd", "cd $WORK/../../nothing-here", "exit 0",
        ];

        // Act
        var run = await IsaacProcess.RunWithEnvironmentAsync(environment, [], stdin: string.Join('\n', script) + "\n");

        // Assert
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(
            [home, projects, home, home, Path.Combine(home, "projects"), projects, spaced, home, home],
            run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(
            ["cd: /no/such/folder: no such directory.", $"cd: {projects}/../../nothing-here: no such directory."],
            run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory(Timeout = 60_000)]
    [InlineData("CI", "true")]
    [InlineData("GITHUB_ACTIONS", "true")]
    [InlineData("GITLAB_CI", "true")]
    [InlineData("JENKINS_HOME", "/var/lib/jenkins")]
    [InlineData("CLAUDE_PROJECT_DIR", "/src")]
    public async Task An_automation_marker_makes_isaac_in_a_real_terminal_run_lines_without_a_prompt(string marker, string value)
    {
        // Act: a terminal on stdin and stdout, so only the marker says nobody is there
        var screen = await InTerminalAsync("", noColor: null, stdin: "echo marker-$((6*7))\nexit 4\n", (marker, value));

        // Assert
        Assert.Contains("marker-42", screen);
        Assert.DoesNotContain("isaac>", screen);
    }

    /// <summary>Runs each <c>;</c>-separated isaac command line in a pseudo-terminal (no CI marker) and returns what the terminal showed.</summary>
    private async Task<string> InTerminalAsync(string commandLines, string? noColor, string? stdin = null, (string Name, string Value)? marker = null)
    {
        var output = new StringBuilder();
        foreach (var arguments in commandLines.Split(';', StringSplitOptions.TrimEntries))
        {
            await CliWrap.Cli.Wrap("script")
                .WithArguments(["-qec", $"stty cols 160 rows 40; '{Fixtures.IsaacExe}' {arguments}", "/dev/null"]) // script's terminal has no size
                .WithEnvironmentVariables(env => ConventionsTerminal.Unmarked(env)
                    .Set("ISAAC_HOME", _home.Path).Set("ISAAC_DEVICE", "tty-device").Set("ISAAC_HUB", null).Set("NO_COLOR", noColor).Set("TERM", "xterm")
                    .Set(marker?.Name ?? "ISAAC_TEST_MARKER", marker?.Value))
                .WithStandardInputPipe(stdin is null ? PipeSource.Null : PipeSource.FromString(stdin))
                .WithStandardOutputPipe(PipeTarget.ToStringBuilder(output))
                .WithStandardErrorPipe(PipeTarget.ToStringBuilder(output))
                .WithValidation(CommandResultValidation.None)
                .ExecuteAsync();
        }

        return output.ToString();
    }
}
