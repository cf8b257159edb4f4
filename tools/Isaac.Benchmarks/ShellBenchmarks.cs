using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using CliWrap;

namespace Isaac.Benchmarks;

/// <summary>
/// The interactive shell's resident memory (VmRSS in /proc/PID/status) in a real terminal (a tmux session): at an
/// empty prompt after start, while it idles, and after lines typed as a person types them (a shell command, the
/// meta-commands, a route while the hub is down), against a .NET hello world blocked in <c>Console.ReadLine</c> and an
/// interactive bash, measured in the same run; and the prompt's latency with a long history (<see cref="LatencyAsync"/>).
/// </summary>
internal static partial class ShellBenchmarks
{
    // What a person types; one route in ten, queued because the hub is down.
    private static readonly string[] _typed =
        ["true", "/help", "echo typed", "/queue", "!laptop2 /sysinfo", "cd /tmp", "cd -", "/sysinfo", "/devices", "ls /"];

    public static async Task RunAsync(Report report, string work, bool quick, string isaacExe, string helloExe, string publishedExe)
    {
        await LatencyAsync(report, work, quick, isaacExe);
        var idle = TimeSpan.FromMinutes(IdleMinutes() ?? (quick ? 1 : 10));
        var commands = quick ? 1_000 : 10_000;
        var rows = new List<(string Case, double MiB)>();

        using (var bash = Terminal.Start("bash --norc --noprofile -i"))
        {
            rows.Add(("interactive bash (reference)", await bash.SettledRssAsync(s => s.Trim().Length > 0)));
        }

        using (var hello = Terminal.Start($"'{helloExe}' --wait"))
        {
            rows.Add((".NET hello world blocked in Console.ReadLine (floor)", await hello.SettledRssAsync(s => s.Contains("hello", StringComparison.Ordinal))));
        }

        if (File.Exists(publishedExe))
        {
            using var published = await StartIsaacAsync(work, "published", publishedExe);
            rows.Add(("isaac (ReadyToRun publish), empty prompt after start", await published.SettledRssAsync(IsPrompt)));
        }

        // Two shells started alike: one idles, the other is typed at, at the same time (the run would last hours otherwise).
        using var idler = await StartIsaacAsync(work, "idle", isaacExe);
        using var isaac = await StartIsaacAsync(work, "typed", isaacExe);
        rows.Add(("isaac (build output), empty prompt after start", await isaac.SettledRssAsync(IsPrompt)));
        await idler.SettledRssAsync(IsPrompt);
        var idling = IdleAsync(idler, idle);

        // One line at a time, each once the previous one is done, as a person types.
        var checkpoints = new List<(int Count, double MiB)>();
        var typing = Stopwatch.StartNew();
        for (var typed = 1; typed <= commands; typed++)
        {
            await isaac.TypeLineAsync(_typed[typed % _typed.Length]);
            if (typed % (commands / 10) == 0)
            {
                checkpoints.Add((typed, isaac.RssMiB()));
            }
        }

        rows.Add(($"isaac, after {checkpoints[0].Count:N0} commands typed", checkpoints[0].MiB));
        rows.Add(($"isaac, after {commands:N0} commands typed", await isaac.SettledRssAsync(IsPrompt)));
        var (idleSamples, idleCpu) = await idling;
        rows.Add(($"isaac, after idling {idle.TotalMinutes:0} min", idleSamples[^1]));
        rows.Add(($"isaac, highest sample while idling ({idleSamples.Count} samples)", idleSamples.Max()));

        var floor = rows[1].MiB;
        var text = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"VmRSS from /proc/PID/status, in a tmux terminal 140×40. isaac runs with a hub configured but down (routes queue), the manifest cache warm. One shell idles {idle.TotalMinutes:0} min while another, started alike, takes {commands:N0} lines typed one after the other ({string.Join(", ", _typed.Select(t => $"`{t}`"))}; {typing.Elapsed.TotalSeconds:0} s). CPU while idle: {idleCpu:0.0} ms/s.")
            .AppendLine()
            .AppendLine("| case | VmRSS | ratio to the .NET floor |")
            .AppendLine("|---|---:|---:|");
        foreach (var (name, mib) in rows)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {mib:0.0} MiB | {mib / floor:0.00}× |");
        }

        text.AppendLine().Append("VmRSS every tenth of the commands: ")
            .AppendJoin(", ", checkpoints.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Count:N0}: {c.MiB:0.0}")));
        report.Text("### A light shell\n\n" + text);
    }

    /// <summary>
    /// Keystroke-to-screen and Ctrl-R-to-first-match latency with 100,000 history entries, isaac against bash with the
    /// same history, each driven and read through tmux (so both include tmux's own round trip), then the CPU of an
    /// isaac with no hub (nothing but the prompt running) idling at the prompt.
    /// </summary>
    private static async Task LatencyAsync(Report report, string work, bool quick, string isaacExe)
    {
        const int Entries = 100_000;
        var keys = quick ? 100 : 300;
        var searches = quick ? 20 : 60;
        var home = Path.Combine(work, "shell-latency");
        Directory.CreateDirectory(home);
        // Every entry differs; the needle is only in the oldest, so each search and each suggestion walks them all.
        string[] lines = ["echo needle-oldest", .. Enumerable.Range(1, Entries - 1).Select(i => $"echo entry-{i:D6} {(i % 7 == 0 ? "build" : "test")}")];
        await File.WriteAllLinesAsync(Path.Combine(home, "history"), lines);
        await File.WriteAllLinesAsync(Path.Combine(work, "bash-history"), lines);

        using var bash = Terminal.Start($"env HISTFILE='{Path.Combine(work, "bash-history")}' HISTSIZE={Entries} HISTFILESIZE={Entries} PS1='$ ' bash --norc --noprofile -i");
        await bash.WaitForAsync(s => s.TrimEnd().EndsWith('$'), "bash");
        using var isaac = Terminal.Start($"env -u CI ISAAC_HOME='{home}' ISAAC_DEVICE=desktop ISAAC_HISTSIZE={Entries} '{isaacExe}'");
        await isaac.WaitForAsync(IsPrompt, "isaac");

        report.Section("Prompt latency (issue 12)",
            $"Through tmux (140×40): a key sent with `send-keys` until the cursor moved (`display-message`), {keys} keys; Ctrl-R and `needle` sent at once until the screen shows the match, which is the oldest of {Entries:N0} entries ({searches} searches). Floor: bash with the same history in the same run. Both include tmux's client round trip (a process start per look).",
            ("keystroke to screen, 100,000 history entries", await KeystrokesAsync(isaac, keys), await KeystrokesAsync(bash, keys)),
            ("Ctrl-R to first match over 100,000 entries", await SearchesAsync(isaac, searches), await SearchesAsync(bash, searches)));

        using var alone = Terminal.Start($"env -u CI ISAAC_HOME='{Path.Combine(work, "shell-alone")}' ISAAC_DEVICE=desktop '{isaacExe}'");
        await alone.SettledRssAsync(IsPrompt);
        var (samples, cpu) = await IdleAsync(alone, TimeSpan.FromSeconds(quick ? 30 : 120));
        report.Text(string.Create(CultureInfo.InvariantCulture,
            $"isaac with no hub configured, idle at an empty prompt for {(quick ? 30 : 120)} s: {cpu:0.00} ms CPU per second, VmRSS {samples[^1]:0.0} MiB."));
    }

    private static async Task<Samples> KeystrokesAsync(Terminal shell, int keys)
    {
        var micros = new List<double>();
        for (var key = 0; key < keys; key++)
        {
            if (key % 40 == 0)
            {
                shell.Send("C-u");
                await shell.WaitForAsync(_ => shell.CursorColumn() <= 2 || shell.Screen().TrimEnd().EndsWith('>'), "an empty line");
            }

            var before = shell.CursorColumn();
            var start = Stopwatch.GetTimestamp();
            shell.Send("-l", ((char)('a' + key % 26)).ToString());
            while (shell.CursorColumn() == before)
            {
            }

            micros.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        }

        return new Samples([.. micros]);
    }

    private static async Task<Samples> SearchesAsync(Terminal shell, int searches)
    {
        shell.Send("C-u");
        var micros = new List<double>();
        for (var search = 0; search < searches; search++)
        {
            var start = Stopwatch.GetTimestamp();
            shell.Send("C-r", "needle");
            await shell.WaitForAsync(s => s.Contains("echo needle-oldest", StringComparison.Ordinal), "the match");
            micros.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            shell.Send("C-g");
            shell.Send("C-u");
            await shell.WaitForAsync(s => !s.Contains("needle", StringComparison.Ordinal), "the search to end");
        }

        return new Samples([.. micros]);
    }

    /// <summary>VmRSS every 15 s (the highest says whether it grew) and the CPU it used, in ms per second.</summary>
    private static async Task<(List<double> Samples, double CpuMsPerSecond)> IdleAsync(Terminal shell, TimeSpan idle)
    {
        var cpuBefore = shell.CpuTicks();
        var samples = new List<double>();
        for (var clock = Stopwatch.StartNew(); clock.Elapsed < idle;)
        {
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(15, Math.Max(1, (idle - clock.Elapsed).TotalSeconds))));
            samples.Add(shell.RssMiB());
        }

        return (samples, (shell.CpuTicks() - cpuBefore) * 10.0 / idle.TotalSeconds); // a tick is 10 ms
    }

    private static bool IsPrompt(string screen) => screen.Contains("isaac", StringComparison.Ordinal) && screen.TrimEnd().EndsWith('>');

    private static int? IdleMinutes()
    {
        var args = Environment.GetCommandLineArgs();
        var at = Array.IndexOf(args, "--idle-minutes");
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : null;
    }

    private static async Task<Terminal> StartIsaacAsync(string work, string name, string exe)
    {
        var home = Path.Combine(work, "shell-" + name);
        Directory.CreateDirectory(home);
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var hub = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}"; // nothing listens there once the probe stops
        probe.Stop();
        string[] environment = [$"ISAAC_HOME={home}", $"ISAAC_HUB={hub}", "ISAAC_TOKEN=benchmark", "ISAAC_DEVICE=desktop"];

        // One run first fills the manifest cache and creates the queue: a user's shell starts warm.
        await Cli.Wrap("env").WithArguments([.. environment, exe, "-c", "true"]).ExecuteAsync();
        return Terminal.Start($"env -u CI {string.Join(' ', environment.Select(e => $"'{e}'"))} '{exe}'");
    }

    /// <summary>A detached tmux session running one program, read through its pane and /proc.</summary>
    private sealed partial class Terminal : IDisposable
    {
        private readonly string _name = "isaac-bench-" + Guid.NewGuid().ToString("N")[..8];

        public static Terminal Start(string command)
        {
            var terminal = new Terminal();
            Tmux("new-session", "-d", "-s", terminal._name, "-x", "140", "-y", "40", command);
            return terminal;
        }

        private int Pid => int.Parse(Tmux("list-panes", "-t", _name, "-F", "#{pane_pid}").Trim(), CultureInfo.InvariantCulture);

        public double RssMiB() => Status("VmRSS:") / 1024.0;

        public long CpuTicks()
        {
            var fields = File.ReadAllText($"/proc/{Pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture); // utime, stime
        }

        /// <summary>VmRSS once the screen shows <paramref name="ready"/> and three seconds passed (start-up work settles).</summary>
        public async Task<double> SettledRssAsync(Func<string, bool> ready)
        {
            await WaitForAsync(ready, "the program to be ready");
            await Task.Delay(TimeSpan.FromSeconds(3));
            return RssMiB();
        }

        /// <summary>Types a line and Enter, then waits for a new empty prompt below the line.</summary>
        public async Task TypeLineAsync(string line)
        {
            Tmux("clear-history", "-t", _name); // keeps the scroll-back from filling, where rows stop counting
            var before = CursorLine();
            Tmux("send-keys", "-t", _name, "-l", line);
            Tmux("send-keys", "-t", _name, "Enter");
            var clock = Stopwatch.StartNew();
            while (CursorLine() is var (row, text) && (row <= before.Row || !EmptyPrompt().IsMatch(text)))
            {
                if (clock.Elapsed > TimeSpan.FromMinutes(2))
                {
                    throw new TimeoutException($"'{line}' did not come back to the prompt in two minutes. Screen:\n{Tmux("capture-pane", "-t", _name, "-p")}");
                }

                await Task.Delay(10);
            }
        }

        // The cursor's row counted from the top of the scroll-back (it only grows), and the text of that row.
        private (long Row, string Text) CursorLine()
        {
            var position = Tmux("display-message", "-p", "-t", _name, "#{history_size} #{cursor_y}").Split(' ');
            var y = position[1].Trim();
            return (long.Parse(position[0], CultureInfo.InvariantCulture) + long.Parse(y, CultureInfo.InvariantCulture),
                Tmux("capture-pane", "-p", "-t", _name, "-S", y, "-E", y).TrimEnd('\n'));
        }

        public async Task WaitForAsync(Func<string, bool> done, string what)
        {
            var clock = Stopwatch.StartNew();
            string screen;
            while (!done(screen = Tmux("capture-pane", "-t", _name, "-p")))
            {
                if (clock.Elapsed > TimeSpan.FromMinutes(2))
                {
                    throw new TimeoutException($"Waited two minutes for {what}. Screen:\n{screen}");
                }

                await Task.Delay(20);
            }
        }

        public void Dispose() => Tmux("kill-session", "-t", _name);

        public void Send(params string[] keys) => Tmux(["send-keys", "-t", _name, .. keys]);

        public string Screen() => Tmux("capture-pane", "-t", _name, "-p");

        public int CursorColumn() => int.Parse(Tmux("display-message", "-p", "-t", _name, "#{cursor_x}").Trim(), CultureInfo.InvariantCulture);

        [GeneratedRegex(@"^isaac( \[OFFLINE: \d+ queued\])?> ?$")]
        private static partial Regex EmptyPrompt();

        private long Status(string field) =>
            long.Parse(File.ReadLines($"/proc/{Pid}/status").Single(l => l.StartsWith(field, StringComparison.Ordinal))[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);

        private static string Tmux(params string[] arguments)
        {
            var start = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start) ?? throw new InvalidOperationException("tmux did not start.");
            var output = process.StandardOutput.ReadToEnd();
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? output : throw new InvalidOperationException($"tmux {string.Join(' ', arguments)} failed: {error}");
        }
    }
}
