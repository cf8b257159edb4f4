using System.Diagnostics;
using Isaac.Core.Dispatch;
using Isaac.Core.Execution;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Security;

/// <summary>
/// No process of a handler outlives its run, its limits or Isaac, whatever it does to escape. Every long-lived
/// process a handler starts carries a unique marker as its argv[0] (<c>exec -a</c>), so survivors are found by
/// their command line, wherever they were re-parented.
/// </summary>
public sealed class ContainmentTests : IDisposable
{
    private static readonly TimeSpan _deadline = TimeSpan.FromSeconds(20);

    private readonly TempDir _dir = new();
    private readonly string _marker = "isaac-marker-" + Guid.NewGuid().ToString("N");
    private readonly OutOfProcessRunner _runner = new();

    public void Dispose()
    {
        // Never leave a stray sleep behind, even when an assertion failed.
        foreach (var pid in Marked(_marker))
        {
            try
            {
                Process.GetProcessById(pid).Kill();
            }
            catch (ArgumentException)
            {
            }
        }

        _dir.Dispose();
    }

    private string Sleeper => $"bash -c 'exec -a {_marker} sleep 600'";

    [Theory(Timeout = 60_000)]
    [InlineData("setsid")]
    [InlineData("double fork")]
    [InlineData("setsid with a cleared environment")]
    public async Task A_child_that_leaves_the_process_group_is_killed_at_the_timeout(string escape)
    {
        // Arrange: the child escapes, the handler itself hangs past its timeout.
        var child = escape switch
        {
            "setsid" => $"setsid {Sleeper} >/dev/null 2>&1 &",
            "double fork" => $"( ({Sleeper} >/dev/null 2>&1 &) & )",
            _ => $"setsid env -i {Sleeper} >/dev/null 2>&1 &",
        };
        var command = await TestManifests.LoadAsync(TestManifests.Script(_dir.Path, "escape", $"{child}\nexec -a {_marker} sleep 600", timeoutMs: 4_000));

        // Act
        var run = _runner.RunAsync(command, Some.Request(command));
        await WaitUntilAsync(() => Marked(_marker).Count == 2, "the handler and its escaped child are running");
        var ex = await Assert.ThrowsAsync<HandlerException>(() => run);

        // Assert
        Assert.Equal(ErrorCode.Timeout, ex.Failure);
        await WaitUntilAsync(() => Marked(_marker).Count == 0, "no process of the handler survives");
    }

    [Theory(Timeout = 60_000)]
    [InlineData("setsid")]
    [InlineData("double fork")]
    public async Task A_child_that_left_the_process_group_is_killed_when_the_handler_answers(string escape)
    {
        var child = escape == "setsid" ? $"setsid {Sleeper} >/dev/null 2>&1 &" : $"( ({Sleeper} >/dev/null 2>&1 &) & )";
        var ready = _dir.Combine("ready");
        var command = await TestManifests.LoadAsync(TestManifests.Script(_dir.Path, "leaky",
            $$"""
            {{child}}
            until pgrep -f '^{{_marker}}' >/dev/null; do sleep 0.05; done
            echo '{"status":"success","stdout":"answered"}'
            """));

        var response = await _runner.RunAsync(command, Some.Request(command));

        Assert.Equal("answered", response.Stdout);
        await WaitUntilAsync(() => Marked(_marker).Count == 0, "the escaped child is killed once the handler exits");
    }

    [Fact(Timeout = 60_000)]
    public async Task An_answer_is_honoured_when_a_background_child_still_holds_stdout()
    {
        // Arrange: the child inherits stdout and keeps it open; the handler answers and exits at once.
        var command = await TestManifests.LoadAsync(TestManifests.Script(_dir.Path, "holder",
            $$"""
            {{Sleeper}} &
            until pgrep -f '^{{_marker}}' >/dev/null; do sleep 0.05; done
            echo '{"status":"success","stdout":"answered"}'
            exit 0
            """, timeoutMs: 15_000));
        var clock = Stopwatch.StartNew();

        // Act
        var response = await _runner.RunAsync(command, Some.Request(command));

        // Assert: the answer, well before the timeout, and the straggler gone.
        Assert.Equal("success", response.Status);
        Assert.Equal("answered", response.Stdout);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(12), $"took {clock.Elapsed}");
        await WaitUntilAsync(() => Marked(_marker).Count == 0, "the straggler is killed");
    }

    [Theory(Timeout = 90_000)]
    [InlineData("TERM", 143)]
    [InlineData("HUP", 129)]
    [InlineData("INT", 130)]
    public async Task Handlers_die_with_isaac_when_it_is_signalled(string signal, int expectedExit)
    {
        // Arrange: isaac -c runs a handler that has started an escaped child and hangs.
        using var home = new TempDir();
        WriteEscapingHandler(home);
        using var isaac = IsaacProcess.Start(["-c", "/escape"], Environment(home));
        await WaitUntilAsync(() => Marked(_marker).Count == 2, "the handler and its escaped child are running");

        // Act
        await Signal(isaac, signal);

        // Assert
        Assert.Equal(expectedExit, isaac.ExitCode);
        await WaitUntilAsync(() => Marked(_marker).Count == 0, "no process of the handler survives isaac");
    }

    [Theory(Timeout = 90_000)]
    [InlineData("TERM")]
    [InlineData("HUP")]
    public async Task A_plain_shell_command_dies_with_isaac_when_it_is_signalled(string signal)
    {
        // Arrange: a plain shell command (not a handler) with a child of its own.
        using var home = new TempDir();
        using var isaac = IsaacProcess.Start(["-c", $"{Sleeper} & {Sleeper}; wait"], Environment(home));
        await WaitUntilAsync(() => Marked(_marker).Count == 2, "the shell command and its child are running");

        // Act
        await Signal(isaac, signal);

        // Assert
        await WaitUntilAsync(() => Marked(_marker).Count == 0, "the shell command does not survive isaac");
    }

    [Fact(Timeout = 90_000)]
    public async Task A_later_start_reaps_the_handlers_a_SIGKILLed_isaac_left_behind()
    {
        // Arrange: SIGKILL gives isaac no chance to clean up; its handler and the escaped child live on.
        using var home = new TempDir();
        WriteEscapingHandler(home);
        using var isaac = IsaacProcess.Start(["-c", "/escape"], Environment(home));
        await WaitUntilAsync(() => Marked(_marker).Count == 2, "the handler and its escaped child are running");
        isaac.Kill();
        await isaac.WaitForExitAsync().WaitAsync(_deadline);
        Assert.Equal(2, Marked(_marker).Count);

        // Act
        var later = await IsaacProcess.RunAsync(home.Path, "-c", "/help");

        // Assert
        Assert.Equal(0, later.ExitCode);
        await WaitUntilAsync(() => Marked(_marker).Count == 0, "the next start killed the left-overs");
    }

    [Fact(Timeout = 60_000)]
    public async Task Runs_of_a_living_isaac_are_not_reaped_by_another_start()
    {
        // Arrange: this test process owns a running handler.
        var command = await TestManifests.LoadAsync(TestManifests.Script(_dir.Path, "alive", $"exec -a {_marker} sleep 600", timeoutMs: 30_000));
        using var cancel = new CancellationTokenSource();
        var run = _runner.RunAsync(command, Some.Request(command), cancel.Token);
        await WaitUntilAsync(() => Marked(_marker).Count == 1, "the handler is running");

        // Act
        using var home = new TempDir();
        var other = await IsaacProcess.RunAsync(home.Path, "-c", "/help");

        // Assert
        Assert.Equal(0, other.ExitCode);
        Assert.Single(Marked(_marker));
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        await WaitUntilAsync(() => Marked(_marker).Count == 0, "the cancelled handler is killed");
    }

    private static async Task Signal(Process isaac, string signal)
    {
        await CliWrap.Cli.Wrap("kill").WithArguments(["-s", signal, isaac.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]).ExecuteAsync();
        await isaac.WaitForExitAsync().WaitAsync(_deadline);
    }

    private void WriteEscapingHandler(TempDir home) =>
        TestManifests.Script(home.Combine("commands"), "escape", $"setsid {Sleeper} >/dev/null 2>&1 &\nexec -a {_marker} sleep 600", timeoutMs: 60_000);

    private static Dictionary<string, string?> Environment(TempDir home) =>
        new() { ["ISAAC_HOME"] = home.Path, ["ISAAC_DEVICE"] = "e2e-device" };

    /// <summary>Live (not zombie) processes whose command line starts with <paramref name="marker"/>.</summary>
    internal static List<int> Marked(string marker)
    {
        var found = new List<int>();
        foreach (var path in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(path), out var pid) && Fixtures.IsRunning(pid) && CommandLine(pid).StartsWith(marker, StringComparison.Ordinal))
            {
                found.Add(pid);
            }
        }

        return found;
    }

    // For a failure message: each survivor's stat line (parent, session) and the environment it started with.
    private string Describe() =>
        string.Concat(Marked(_marker).Select(pid => $"\n{Read($"/proc/{pid}/stat")} ENV {Read($"/proc/{pid}/environ").Replace('\0', ' ')}"));

    private static string CommandLine(int pid) => Read($"/proc/{pid}/cmdline");

    private static string Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < _deadline, $"timed out waiting until {what}; still running:{Describe()}");
            await Task.Delay(25);
        }
    }
}
