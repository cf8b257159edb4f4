using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using CliWrap;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Cli;

/// <summary><c>isaac hub</c> and <c>isaac agent</c> log to the console (stderr) as well as to their log file, in colour only where colour is allowed.</summary>
public sealed partial class ConsoleLogTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly List<System.Diagnostics.Process> _processes = [];

    public void Dispose()
    {
        IsaacProcess.KillAll(_processes);
        _dir.Dispose();
    }

    [GeneratedRegex(@"\x1b\[[0-9;]*m")]
    private static partial Regex Sgr();

    [Fact(Timeout = 90_000)]
    public async Task A_hub_and_its_agent_log_the_connection_on_their_consoles_and_in_their_files()
    {
        // Arrange
        var address = FreeAddress();
        var data = _dir.Combine("hub-data");
        var token = (await IsaacProcess.RunAsync(_dir.Combine("hub-home"), "hub", "add-device", "desktop", "--data", data)).Stdout.Trim();
        var hubOutput = new ConcurrentQueue<string>();
        var agentOutput = new ConcurrentQueue<string>();

        // Act
        _processes.Add(IsaacProcess.Start(["hub", "--urls", address, "--data", data], new Dictionary<string, string?> { ["ISAAC_HOME"] = _dir.Combine("hub-home") }, hubOutput.Enqueue));
        await AgentHarness.WaitUntilAsync(() => hubOutput.Any(line => line.Contains("listening", StringComparison.Ordinal)), "the hub listens", TimeSpan.FromSeconds(45));
        _processes.Add(IsaacProcess.Start(["agent"], new Dictionary<string, string?>
        {
            ["ISAAC_HOME"] = _dir.Combine("agent-home"),
            ["ISAAC_DEVICE"] = "desktop",
            ["ISAAC_HUB"] = address,
            ["ISAAC_TOKEN"] = token,
        }, agentOutput.Enqueue));
        await AgentHarness.WaitUntilAsync(() => hubOutput.Any(line => line.Contains("INF Device desktop says hello", StringComparison.Ordinal)), "the hub logs the hello", TimeSpan.FromSeconds(45));
        await AgentHarness.WaitUntilAsync(() => agentOutput.Any(line => line.Contains("INF Connected to the hub at", StringComparison.Ordinal)), "the agent logs the connection", TimeSpan.FromSeconds(45));

        // Assert: the same events are in the files, and neither console nor file has ASP.NET Core's per-request lines
        Assert.Contains(LogFileLines("hub-home"), line => line.Contains("Device desktop says hello", StringComparison.Ordinal));
        Assert.Contains(LogFileLines("agent-home"), line => line.Contains("Connected to the hub at", StringComparison.Ordinal));
        Assert.DoesNotContain(hubOutput, line => line.Contains("Request starting", StringComparison.Ordinal));
        Assert.DoesNotContain(LogFileLines("hub-home"), line => line.Contains("Request starting", StringComparison.Ordinal)); // nor has the file
        Assert.DoesNotContain(hubOutput.Concat(agentOutput), line => line.Contains('\u001b'));
    }

    [Fact(Timeout = 90_000)]
    public async Task The_console_log_is_coloured_on_a_terminal_unless_NO_COLOR_or_no_color()
    {
        // Arrange: an agent with a token the hub does not know logs an error and stops
        using var hub = new HubHarness();
        await hub.StartHubAsync();
        var environment = new Dictionary<string, string?> { ["ISAAC_HOME"] = _dir.Combine("agent-home"), ["ISAAC_DEVICE"] = "desktop", ["ISAAC_HUB"] = hub.Address, ["ISAAC_TOKEN"] = "isk_unknown" };

        // Act
        var coloured = await InTerminalAsync("agent", environment, noColor: null);
        var noColor = await InTerminalAsync("agent", environment, noColor: "1");
        var flag = await InTerminalAsync("agent --no-color", environment, noColor: null);

        // Assert
        Assert.Contains("refused the token", coloured);
        Assert.Matches(Sgr(), coloured);
        foreach (var plain in new[] { noColor, flag })
        {
            Assert.Contains("ERR The hub at", plain);
            Assert.DoesNotMatch(Sgr(), plain);
        }
    }

    private static async Task<string> InTerminalAsync(string arguments, Dictionary<string, string?> environment, string? noColor)
    {
        var output = new StringBuilder();
        await CliWrap.Cli.Wrap("script")
            .WithArguments(["-qec", $"'{Fixtures.IsaacExe}' {arguments}", "/dev/null"])
            .WithEnvironmentVariables(env => ConventionsTerminal.Unmarked(env).Set(environment).Set("NO_COLOR", noColor).Set("TERM", "xterm"))
            .WithStandardOutputPipe(PipeTarget.ToStringBuilder(output))
            .WithValidation(CommandResultValidation.None)
            .ExecuteAsync();
        return output.ToString();
    }

    private IEnumerable<string> LogFileLines(string home)
    {
        foreach (var path in Directory.GetFiles(_dir.Combine(home, "logs")))
        {
            // Shared with the running process: read without locking it out.
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            foreach (var line in reader.ReadToEnd().Split('\n'))
            {
                yield return line;
            }
        }
    }

    private static string FreeAddress()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}";
    }
}
