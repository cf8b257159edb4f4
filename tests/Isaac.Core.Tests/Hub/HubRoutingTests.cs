using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Isaac.Core.Tests.Support;
using Isaac.Core.Wire;
using Isaac.Plugins;

namespace Isaac.Core.Tests.Hub;

/// <summary>Routing through a real hub process to real agent processes on loopback.</summary>
public sealed class HubRoutingTests : IDisposable
{
    private const string Counter = """echo ran >> "$ISAAC_HOME/count"; printf '{"status":"success","stdout":"counted"}'""";

    // Each test runs against every hub engine (HubEngines): its harness is made for the engine it is given.
    private HubHarness _hub = null!;

    public void Dispose() => _hub?.Dispose();

    private async Task StartAsync()
    {
        await _hub.AddDevicesAsync("laptop2", "desktop");
        await _hub.StartHubAsync();
    }

    private int Runs(string device) =>
        File.Exists(Path.Combine(_hub.Home(device), "count")) ? File.ReadAllLines(Path.Combine(_hub.Home(device), "count")).Length : 0;

    private HubClient Client(string device) => new(new Uri(_hub.Address), _hub.Token(device));

    private static async Task<RoutedCommand> FinishedAsync(HubClient client, string id)
    {
        for (var i = 0; i < 60; i++)
        {
            if (await client.WaitAsync(id, TimeSpan.FromSeconds(1)) is { IsFinished: true } done)
            {
                return done;
            }
        }

        Assert.Fail($"command {id} never finished");
        return null!;
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(HubEngines.All), MemberType = typeof(HubEngines))]
    public async Task A_routed_command_runs_on_the_other_device_and_its_result_comes_back_marked(string engine)
    {
        _hub = new HubHarness(engine);
        // Arrange
        await StartAsync();
        _hub.StartAgent("laptop2");
        await Task.Delay(1000);

        // Act
        var run = await _hub.RunAsync("desktop", "!laptop2 /sysinfo");

        // Assert
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("[laptop2] device     laptop2", run.Stdout);
        Assert.Contains("[laptop2] online     yes", run.Stdout);
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(HubEngines.All), MemberType = typeof(HubEngines))]
    public async Task An_offline_device_receives_its_command_when_it_connects(string engine)
    {
        _hub = new HubHarness(engine);
        // Arrange
        await StartAsync();
        _hub.AddCommand("laptop2", "count", Counter);

        // Act
        var sent = await _hub.RunAsync("desktop", "!laptop2 /count", "--json");
        using var json = JsonDocument.Parse(sent.Stdout);
        var id = json.RootElement.GetProperty("meta").GetProperty("hub_id").GetString()!;
        _hub.StartAgent("laptop2");
        using var client = Client("desktop");
        var done = await FinishedAsync(client, id);
        var inbox = await _hub.RunAsync("desktop", "/queue results");

        // Assert
        Assert.Contains("laptop2 is offline and runs it when it connects", json.RootElement.GetProperty("stdout").GetString());
        Assert.Equal("completed", done.Status);
        Assert.Equal("counted", done.Result?.Stdout);
        Assert.Contains("completed", inbox.Stdout);
        Assert.Equal(1, Runs("laptop2"));
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(HubEngines.All), MemberType = typeof(HubEngines))]
    public async Task A_hub_killed_mid_flight_loses_nothing(string engine)
    {
        _hub = new HubHarness(engine);
        await StartAsync();
        _hub.AddCommand("laptop2", "count", Counter);
        using var client = Client("desktop");
        var routed = await client.RouteAsync(new RouteRequest { Target = "laptop2", Text = "/count", UniqueKey = "k1" });

        _hub.KillHub();
        await _hub.StartHubAsync();
        _hub.StartAgent("laptop2");
        var done = await FinishedAsync(client, routed.Command!.Id);

        Assert.Equal("completed", done.Status);
        Assert.Equal(1, Runs("laptop2"));
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(HubEngines.All), MemberType = typeof(HubEngines))]
    public async Task A_repeated_unique_key_returns_the_first_record_and_runs_once(string engine)
    {
        _hub = new HubHarness(engine);
        await StartAsync();
        _hub.AddCommand("laptop2", "count", Counter);
        _hub.StartAgent("laptop2");
        using var client = Client("desktop");

        var first = await client.RouteAsync(new RouteRequest { Target = "laptop2", Text = "/count", UniqueKey = "same" });
        await FinishedAsync(client, first.Command!.Id);
        var second = await client.RouteAsync(new RouteRequest { Target = "laptop2", Text = "/count", UniqueKey = "same" });
        await Task.Delay(500);

        Assert.Equal(first.Command.Id, second.Command!.Id);
        Assert.Equal("completed", second.Command.Status);
        Assert.Equal(1, Runs("laptop2"));
    }

    [Theory(Timeout = 90_000)]
    [MemberData(nameof(HubEngines.All), MemberType = typeof(HubEngines))]
    public async Task An_agent_killed_between_receiving_and_acknowledging_gets_the_command_again_and_runs_it_once(string engine)
    {
        _hub = new HubHarness(engine);
        var (between, done) = await CrashAgentThenRestartAsync("after-persist");

        Assert.Equal("assigned", between);
        Assert.Equal("completed", done.Status);
        Assert.Equal(1, Runs("laptop2"));
    }

    [Theory(Timeout = 90_000)]
    [MemberData(nameof(HubEngines.All), MemberType = typeof(HubEngines))]
    public async Task An_agent_killed_after_running_but_before_reporting_reports_after_restart(string engine)
    {
        _hub = new HubHarness(engine);
        var (between, done) = await CrashAgentThenRestartAsync("after-run");

        Assert.Equal("running", between);
        Assert.Equal("counted", done.Result?.Stdout);
        Assert.Equal(1, Runs("laptop2"));
    }

    /// <summary>Routes /count to an agent that kills itself at <paramref name="fault"/>, then starts a healthy one.</summary>
    private async Task<(string Between, RoutedCommand Done)> CrashAgentThenRestartAsync(string fault)
    {
        await StartAsync();
        _hub.AddCommand("laptop2", "count", Counter);
        using var client = Client("desktop");
        var crashing = _hub.StartAgent("laptop2", fault: fault);

        var routed = await client.RouteAsync(new RouteRequest { Target = "laptop2", Text = "/count", UniqueKey = "k" });
        await crashing.WaitForExitAsync();
        var between = (await client.WaitAsync(routed.Command!.Id, TimeSpan.Zero))!.Status;
        _hub.StartAgent("laptop2");
        return (between, await FinishedAsync(client, routed.Command.Id));
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(HubEngines.All), MemberType = typeof(HubEngines))]
    public async Task A_wrong_or_missing_token_is_refused_everywhere_but_health(string engine)
    {
        _hub = new HubHarness(engine);
        await StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(_hub.Address) };

        var health = await http.GetAsync("/health");
        var missing = await http.PostAsync("/v1/commands", new StringContent("{}"));
        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/v1/history");
        wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "isk_forged");
        var forged = await http.SendAsync(wrong);
        var agentSocket = await http.GetAsync("/v1/agent");
        using var stranger = new HubClient(new Uri(_hub.Address), "isk_forged");
        var routed = await stranger.RouteAsync(new RouteRequest { Target = "laptop2", Text = "/sysinfo", UniqueKey = "x" });

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, agentSocket.StatusCode);
        Assert.Equal(RouteStatus.Unauthorized, routed.Status);
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(HubEngines.All), MemberType = typeof(HubEngines))]
    public async Task A_remote_tier_3_command_is_refused_by_the_devices_policy(string engine)
    {
        _hub = new HubHarness(engine);
        await StartAsync();
        _hub.AddCommand("laptop2", "wipe", Counter, tier: 3);
        _hub.StartAgent("laptop2");
        await Task.Delay(1000);

        var run = await _hub.RunAsync("desktop", "!laptop2 /wipe", "--json");

        using var json = JsonDocument.Parse(run.Stdout);
        Assert.Equal("DENIED", json.RootElement.GetProperty("error").GetString());
        Assert.Contains("tier 3", json.RootElement.GetProperty("stderr").GetString());
        Assert.Equal(0, Runs("laptop2"));
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(HubEngines.All), MemberType = typeof(HubEngines))]
    public async Task Shell_metacharacters_in_routed_text_are_inert_data(string engine)
    {
        _hub = new HubHarness(engine);
        // Arrange: a command on laptop2 that reports the words it was given.
        await StartAsync();
        var marker = Path.Combine(_hub.Home("laptop2"), "pwned");
        _hub.AddCommand("laptop2", "echoargs", """printf '{"status":"success","stdout":%s}' "$(python3 -c 'import json,sys; print(json.dumps(json.dumps(json.load(sys.stdin)["args"])))')" """);
        _hub.StartAgent("laptop2");
        await Task.Delay(1000);

        // Act
        var run = await _hub.RunAsync("desktop", $"!laptop2 /echoargs $(touch {marker}); touch {marker} && `touch {marker}` | cat");
        var shell = await _hub.RunAsync("desktop", $"!laptop2 touch {marker}");

        // Assert
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains($"\"$(touch\", \"{marker});\", \"touch\"", run.Stdout);
        Assert.Equal(126, shell.ExitCode);
        Assert.False(File.Exists(marker));
    }
}
