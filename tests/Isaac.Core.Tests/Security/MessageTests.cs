using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Security;

/// <summary>What a person sees when something they did is wrong: one plain line from the real executable, never a stack trace or a .NET resource key.</summary>
public sealed partial class MessageTests
{
    /// <summary>A .NET resource key as it leaks with UseSystemResourceKeys (Arg_NullReferenceException, IO_PathNotFound_Path, net_WebSockets_…).</summary>
    public static readonly Regex ResourceKey = ResourceKeyPattern();

    [GeneratedRegex(@"\b[A-Za-z]+_[A-Z][a-z][A-Za-z]*(?:_[A-Za-z]+)*\b")]
    private static partial Regex ResourceKeyPattern();

    private static void AssertOneLine(IsaacRun run, string expected)
    {
        var all = run.Stdout + run.Stderr;
        Assert.True(run.ExitCode != 0, $"exit {run.ExitCode}: {all}");
        Assert.DoesNotContain("   at ", all, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", all, StringComparison.Ordinal);
        Assert.DoesNotMatch(ResourceKey, all);
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line, got: {run.Stderr}");
        Assert.StartsWith("isaac: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
    }

    public static TheoryData<string, string> BadConfigs() => new()
    {
        { "devicee: laptop\n", ":1:1: unknown setting 'devicee'" },
        { "sync:\n  online_probe_seconds: soon\n", ":2:25: this value is not valid here (The input string 'soon' was not in a correct format)" },
        { "tiers:\n  local_max: 99999999999999\n", ":2:14: this number is out of range" },
        { "tiers: 5\n", ":1:8: expected a map of settings here" },
        { "device:\n  - a\n", ":2:3: expected a single text value, not a list or a map here" },
        { "share_history: maybe\n", ":1:16: this value is not valid here" },
        { "device: a\ndevice: b\n", ":2:1: Encountered duplicate key device" },
        { "hub: not a url\n", ": the hub address 'not a url' is not an http:// or https:// address" },
        { new string('#', 70_000), ": the config file has 70000 bytes; it is limited to 65536" },
    };

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(BadConfigs))]
    public async Task A_bad_config_file_is_one_line_with_the_file_the_place_and_the_reason(string config, string reason)
    {
        // Arrange
        using var home = new TempDir();
        var path = home.Write("config.yaml", config);

        // Act
        var run = await IsaacProcess.RunAsync(home.Path, "-c", "/help");

        // Assert
        AssertOneLine(run, path + reason);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_hub_on_a_port_in_use_says_so_in_one_line_and_exits_non_zero()
    {
        // Arrange
        using var home = new TempDir();
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        // Act
        var run = await IsaacProcess.RunAsync(home.Path, "hub", "--urls", $"http://127.0.0.1:{port}", "--data", home.Combine("hub"));

        // Assert
        AssertOneLine(run, $"port {port} on 127.0.0.1 is already in use");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_second_hub_on_the_same_sqlite_data_folder_is_refused_in_one_line()
    {
        // Arrange
        using var hub = new HubHarness();
        await hub.StartHubAsync();

        // Act
        var run = await IsaacProcess.RunAsync(hub.HubHome(1), "hub", "--urls", "http://127.0.0.1:0", "--data", hub.HubData);

        // Assert
        AssertOneLine(run, $"another isaac hub already serves the data folder {hub.HubData}; stop it first, or run several hubs on one PostgreSQL store");
    }

    public static TheoryData<string[], string?, string> UserErrors() => new()
    {
        { ["hub", "--urls", "foo"], null, "'foo' is not an address the hub can listen on" },
        { ["hub", "--urls", "http://192.0.2.1:5080"], null, "the hub cannot listen on http://192.0.2.1:5080: Cannot assign requested address" },
        { ["agent"], "not a url", "ISAAC_HUB: the hub address 'not a url' is not an http:// or https:// address" },
        { ["-c", "!laptop2 /help"], "ftp://hub", "ISAAC_HUB: the hub address 'ftp://hub'" },
        { ["agent"], null, "the agent needs a hub address (ISAAC_HUB or --hub) and this device's token" },
    };

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(UserErrors))]
    public async Task Other_user_errors_are_one_line_in_the_same_style(string[] arguments, string? hub, string expected)
    {
        // Arrange
        using var home = new TempDir();
        var environment = new Dictionary<string, string?> { ["ISAAC_HOME"] = home.Path, ["ISAAC_DEVICE"] = "desktop", ["ISAAC_HUB"] = hub, ["ISAAC_TOKEN"] = null };

        // Act
        var run = await IsaacProcess.RunWithEnvironmentAsync(environment, [.. arguments, .. arguments[0] == "hub" ? new[] { "--data", home.Combine("hub") } : []]);

        // Assert
        AssertOneLine(run, expected);
    }

    [Fact(Timeout = 30_000)]
    public async Task Validation_errors_from_dotnet_read_as_english_not_as_resource_keys()
    {
        // Arrange: a trigger pattern .NET cannot parse, and a folder that does not exist
        using var home = new TempDir();
        var manifest = TestManifests.Script(home.Combine("commands"), "broken", "echo '{}'");
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("pattern: \"^broken(\\\\s+(.*))?$\"", "pattern: \"^broken(\""));

        // Act
        var pattern = await IsaacProcess.RunAsync(home.Path, "validate", home.Combine("commands"));
        var missing = await IsaacProcess.RunAsync(home.Path, "validate", home.Combine("no", "such", "folder"));

        // Assert
        Assert.Equal(1, pattern.ExitCode);
        Assert.Contains("Not enough )'s", pattern.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("InsufficientClosingParentheses", pattern.Stdout + pattern.Stderr, StringComparison.Ordinal);
        AssertOneLine(missing, $"'{home.Combine("no", "such", "folder")}' does not exist");
        foreach (var run in new[] { pattern, missing })
        {
            Assert.DoesNotMatch(ResourceKey, run.Stdout + run.Stderr);
            Assert.DoesNotContain("   at ", run.Stdout + run.Stderr, StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task An_agent_whose_hub_address_is_not_a_hub_logs_a_plain_reason()
    {
        // Arrange: something that answers HTTP 200 where a hub would switch to a WebSocket
        await using var notAHub = new ScriptedHub { RefuseWith = HttpStatusCode.OK };
        using var home = new TempDir();
        var environment = new Dictionary<string, string?> { ["ISAAC_HOME"] = home.Path, ["ISAAC_DEVICE"] = "laptop2", ["ISAAC_HUB"] = notAHub.Address.ToString(), ["ISAAC_TOKEN"] = "isk_x" };
        var agent = IsaacProcess.Start(["agent"], environment);
        try
        {
            // Act
            var line = "";
            for (var deadline = DateTime.UtcNow.AddSeconds(40); line.Length == 0; await Task.Delay(100))
            {
                Assert.True(DateTime.UtcNow < deadline, "the agent never logged its failed connection");
                line = Directory.Exists(home.Combine("logs"))
                    ? Directory.GetFiles(home.Combine("logs")).SelectMany(Lines).FirstOrDefault(l => l.Contains("Could not connect to the hub", StringComparison.Ordinal)) ?? ""
                    : "";
            }

            // Assert
            Assert.Contains("'101'", line, StringComparison.Ordinal);
            Assert.DoesNotMatch(ResourceKey, line);
        }
        finally
        {
            IsaacProcess.KillAll([agent]);
        }
    }

    // The log is shared with the running agent: read it without locking it out.
    private static IEnumerable<string> Lines(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n');
    }
}
