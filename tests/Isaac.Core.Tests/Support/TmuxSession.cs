using System.Diagnostics;

namespace Isaac.Core.Tests.Support;

/// <summary>A real terminal: a detached tmux session driven with send-keys and read with capture-pane.</summary>
internal sealed class TmuxSession : IDisposable
{
    private readonly string _name = "isaac-test-" + Guid.NewGuid().ToString("N")[..8];

    private TmuxSession()
    {
    }

    public static TmuxSession Start(string shellCommand, int width = 140, int height = 40)
    {
        var session = new TmuxSession();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Tmux(["new-session", "-d", "-s", session._name, "-x", width.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    "-y", height.ToString(System.Globalization.CultureInfo.InvariantCulture), .. Unmarked(), shellCommand]);
                return session;
            }
            catch (InvalidOperationException ex) when (attempt < 3 && ex.Message.Contains("server exited unexpectedly", StringComparison.Ordinal))
            {
                // Tests in parallel share one tmux server: the last session of another test can take it down just as
                // this one asks it for a session. A new server starts on the next try.
            }
        }
    }

    // A person's terminal: the automation markers other than CI (which each test decides) that the runner may have
    // set are emptied, which Isaac reads as unset (a CI job or an agent's hook must not make every prompt test fail).
    private static IEnumerable<string> Unmarked() =>
        Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(name => name is "GITHUB_ACTIONS" or "GITLAB_CI" or "JENKINS_HOME" || name.StartsWith("CLAUDE_", StringComparison.Ordinal))
            .SelectMany(name => new[] { "-e", $"{name}=" });

    public void SendKeys(params string[] keys) => Tmux(["send-keys", "-t", _name, .. keys]);

    /// <summary>Types text literally (no key-name interpretation).</summary>
    public void Type(string text) => Tmux("send-keys", "-t", _name, "-l", "--", text);

    public string Screen() => Tmux("capture-pane", "-t", _name, "-p");

    /// <summary>The screen with rows the terminal wrapped joined again (-J): one line per line typed or printed.</summary>
    public string JoinedScreen() => Tmux("capture-pane", "-t", _name, "-p", "-J");

    /// <summary>The screen with its colours and styles as escape sequences (-e).</summary>
    public string StyledScreen() => Tmux("capture-pane", "-t", _name, "-p", "-e");

    /// <summary>The cursor's column and row.</summary>
    public (int Column, int Row) Cursor()
    {
        var position = Tmux("display-message", "-t", _name, "-p", "#{cursor_x},#{cursor_y}").Trim().Split(',');
        return (int.Parse(position[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(position[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Pastes text as a terminal does when the program asked for bracketed paste (-p).</summary>
    public void Paste(string text)
    {
        var buffer = _name + "-paste";
        Tmux("set-buffer", "-b", buffer, text);
        Tmux("paste-buffer", "-p", "-d", "-b", buffer, "-t", _name);
    }

    /// <summary>Polls the screen until <paramref name="done"/> holds; fails with the screen when it never does.</summary>
    public async Task<string> WaitForAsync(Func<string, bool> done, string what, int timeoutMs = 20_000)
    {
        var clock = Stopwatch.StartNew();
        string screen;
        while (!done(screen = Screen()))
        {
            if (clock.ElapsedMilliseconds > timeoutMs)
            {
                Assert.Fail($"Timed out waiting for {what}. Screen:\n{screen}");
            }

            await Task.Delay(50);
        }

        return screen;
    }

    public Task<string> WaitForAsync(string text, int timeoutMs = 20_000) =>
        WaitForAsync(screen => screen.Contains(text, StringComparison.Ordinal), $"'{text}'", timeoutMs);

    public void Dispose()
    {
        try
        {
            Tmux("kill-session", "-t", _name);
        }
        catch (InvalidOperationException)
        {
            // Already gone with its program.
        }
    }

    private static string Tmux(params string[] arguments)
    {
        var startInfo = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("tmux did not start; .ci/run installs it (apt-get install tmux).");
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"tmux {string.Join(' ', arguments)} failed: {error}");
    }
}
