using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Cli;

/// <summary>
/// An agent whose token the hub refuses says so once, naming the device and the hub, and stops after a few tries
/// (exit code 1) instead of retrying forever with the reason only in its log file; a shell shows one notice.
/// </summary>
public sealed class RefusedTokenTests : IDisposable
{
    private readonly HubHarness _hub = new();
    private readonly TempDir _home = new();

    public void Dispose()
    {
        _hub.Dispose();
        _home.Dispose();
    }

    private async Task<Dictionary<string, string?>> WrongTokenAsync()
    {
        await _hub.AddDevicesAsync("desktop");
        await _hub.StartHubAsync();
        var environment = _hub.Environment("desktop");
        environment["ISAAC_TOKEN"] = "isk_not-the-one-the-hub-gave";
        return environment;
    }

    [Fact(Timeout = 90_000)]
    public async Task An_agent_with_a_refused_token_says_so_in_one_line_and_exits_1()
    {
        // Arrange
        var environment = await WrongTokenAsync();

        // Act
        var run = await IsaacProcess.RunWithEnvironmentAsync(environment, ["agent"]);

        // Assert
        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.StartsWith("Agent for 'desktop' serving commands routed through", run.Stdout);
        var refusal = Assert.Single(run.Stderr.Split('\n'), line => line.Contains("refused", StringComparison.Ordinal));
        Assert.Matches(@"^\d\d:\d\d:\d\d ERR The hub at http://127\.0\.0\.1:\d+/ refused the token of device 'desktop' 3 times in a row \(HTTP 401\); stopped\. Set ISAAC_TOKEN", refusal);
        Assert.Contains(_hub.Address, refusal);
        Assert.DoesNotContain("   at ", run.Stderr);
    }

    [Fact(Timeout = 90_000)]
    public async Task Quiet_leaves_only_the_refusal_and_verbose_shows_each_try()
    {
        // Arrange
        var environment = await WrongTokenAsync();

        // Act
        var quiet = await IsaacProcess.RunWithEnvironmentAsync(environment, ["agent", "-q"]);
        var verbose = await IsaacProcess.RunWithEnvironmentAsync(environment, ["agent", "--verbose"]);

        // Assert
        Assert.Equal(1, quiet.ExitCode);
        Assert.Equal("", quiet.Stdout);
        Assert.Contains("ERR The hub at", Assert.Single(quiet.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Equal(1, verbose.ExitCode);
        Assert.Equal(2, verbose.Stderr.Split('\n').Count(line => line.Contains("DBG", StringComparison.Ordinal) && line.Contains("refused the token", StringComparison.Ordinal)));
    }

    [Fact(Timeout = 90_000)]
    public async Task A_shell_whose_agent_is_refused_shows_one_notice_and_stops_trying()
    {
        // Arrange
        var environment = await WrongTokenAsync();
        var variables = string.Join(' ', environment.Select(variable => $"{variable.Key}='{variable.Value}'"));
        using var tmux = TmuxSession.Start($"{ConventionsTerminal.WithoutMarkers} {variables} '{Fixtures.IsaacExe}'", width: 200);
        await tmux.WaitForAsync("refused the token of device 'desktop'");

        // Act: the shell goes on serving the person
        tmux.Type("echo still-here-$((40+2))");
        tmux.SendKeys("Enter");
        var screen = await tmux.WaitForAsync("still-here-42");

        // Assert: one notice, and the hub saw three attempts (it logs each request it refuses)
        Assert.Single(screen.Split('\n'), line => line.Contains("refused the token", StringComparison.Ordinal));
        Assert.Contains("(HTTP 401); stopped.", screen);
        var hubLogs = Path.Combine(_hub.HubHome(), "logs");
        var attempts = Directory.GetFiles(hubLogs).SelectMany(Lines).Count(line => line.Contains("Refused GET /v1/agent", StringComparison.Ordinal));
        Assert.Equal(3, attempts);
    }

    // The log is shared with the running hub: read it without locking it out.
    private static IEnumerable<string> Lines(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n');
    }
}
