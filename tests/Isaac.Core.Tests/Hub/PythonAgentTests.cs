using System.Net;
using System.Text;
using System.Text.Json;
using Isaac.Core.Tests.Support;
using Isaac.Core.Wire;
using Isaac.Plugins;
using NJsonSchema;

namespace Isaac.Core.Tests.Hub;

/// <summary>
/// Routing through a real hub to tests/agents/python_agent.py, an agent written from docs/hub-protocol.md alone:
/// if the doc and the hub disagree, these fail.
/// </summary>
public sealed class PythonAgentTests : IDisposable
{
    private readonly HubHarness _hub = new();

    public void Dispose() => _hub.Dispose();

    private async Task StartAsync()
    {
        await _hub.AddDevicesAsync("laptop2", "desktop");
        await _hub.StartHubAsync();
    }

    private async Task<PythonAgent> StartAgentAsync()
    {
        var agent = PythonAgent.Start(_hub, "laptop2");
        await agent.WaitOnlineAsync(_hub, "laptop2");
        return agent;
    }

    private HubClient Client(string device) => new(new Uri(_hub.Address), _hub.Token(device));

    private static async Task<RoutedCommand> FinishedAsync(HubClient client, string id)
    {
        for (var i = 0; i < 40; i++)
        {
            if (await client.WaitAsync(id, TimeSpan.FromSeconds(1)) is { IsFinished: true } done)
            {
                return done;
            }
        }

        Assert.Fail($"command {id} never finished");
        return null!;
    }

    [Fact(Timeout = 60_000)]
    public async Task A_routed_echo_comes_back_marked_with_the_python_device()
    {
        // Arrange
        await StartAsync();
        using var agent = await StartAgentAsync();

        // Act
        var run = await _hub.RunAsync("desktop", "!laptop2 /echo hi");

        // Assert
        Assert.True(run.ExitCode == 0, $"{run}\n{agent.Log}");
        Assert.Contains("[laptop2] hi", run.Stdout);
    }

    [Fact(Timeout = 60_000)]
    public async Task Several_routes_run_once_each_in_seq_order_across_barriers_and_parallel_runs()
    {
        // Arrange
        await StartAsync();
        using var agent = await StartAgentAsync();
        using var http = _hub.Http("desktop");
        using var client = Client("desktop");
        var entries = Enumerable.Range(1, 8).Select(i => new RouteBody { Target = "laptop2", Text = $"/count {i}", UniqueKey = $"k{i}", Parallel = i % 3 != 0 }).ToArray();
        var body = JsonSerializer.Serialize(entries, HubJson.Default.RouteBodyArray);

        // Act
        var first = await http.PostAsync("/v1/commands/batch", new StringContent(body, Encoding.UTF8, "application/json"));
        var records = JsonSerializer.Deserialize(await first.Content.ReadAsStringAsync(), HubJson.Default.CommandRecordArray)!;
        var done = new List<RoutedCommand>();
        foreach (var record in records)
        {
            done.Add(await FinishedAsync(client, record.Id));
        }

        var again = await http.PostAsync("/v1/commands/batch", new StringContent(body, Encoding.UTF8, "application/json"));
        var repeated = JsonSerializer.Deserialize(await again.Content.ReadAsStringAsync(), HubJson.Default.CommandRecordArray)!;
        var lateEcho = await _hub.RunAsync("desktop", "!laptop2 /echo after");

        // Assert
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(records.Select(r => r.Seq).Order(), records.Select(r => r.Seq));
        Assert.All(done, d => Assert.Equal("completed", d.Status));
        Assert.All(repeated, r => Assert.True(r.Repeated));
        Assert.Contains("[laptop2] after", lateEcho.Stdout);
        Assert.Equal(["1", "2", "3", "4", "5", "6", "7", "8"], _hub.Counted("laptop2"));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_minimal_result_from_the_agent_is_stored_with_defaults_and_shown()
    {
        // Arrange
        await StartAsync();
        using var agent = await StartAgentAsync();
        using var http = _hub.Http("desktop");
        var schema = await JsonSchema.FromFileAsync(Path.Combine(Fixtures.RepoRoot, "schemas", "hub", "command-record.schema.json"));

        // Act
        var run = await _hub.RunAsync("desktop", "!laptop2 /echo minimal", "--json");
        using var shown = JsonDocument.Parse(run.Stdout);
        var id = shown.RootElement.GetProperty("meta").GetProperty("hub_id").GetString()!;
        var stored = await http.GetStringAsync($"/v1/commands/{id}");
        using var record = JsonDocument.Parse(stored);
        var result = record.RootElement.GetProperty("result");

        // Assert
        Assert.True(run.ExitCode == 0, $"{run}\n{agent.Log}");
        Assert.Contains("[laptop2] minimal", shown.RootElement.GetProperty("stdout").GetString());
        Assert.Equal("completed", record.RootElement.GetProperty("status").GetString());
        Assert.Equal(1, result.GetProperty("protocol_version").GetInt32());
        Assert.Equal("success", result.GetProperty("status").GetString());
        Assert.Equal("minimal", result.GetProperty("stdout").GetString());
        Assert.Equal("", result.GetProperty("stderr").GetString());
        Assert.Equal("text", result.GetProperty("kind").GetString());
        Assert.Empty(result.GetProperty("meta").EnumerateObject());
        Assert.Empty(schema.Validate(stored));
    }

    [Fact(Timeout = 60_000)]
    public async Task An_offline_python_agent_gets_its_command_when_it_connects()
    {
        // Arrange: the sender hears at once that the device is offline; the command waits at the hub
        await StartAsync();
        var sent = await _hub.RunAsync("desktop", "!laptop2 /count offline");

        // Act
        var agent = PythonAgent.Start(_hub, "laptop2");
        await WaitForAsync(() => _hub.Counted("laptop2").Length == 1);
        var results = await _hub.RunAsync("desktop", "/queue results");
        agent.Dispose();

        // Assert
        Assert.True(sent.ExitCode == 0, $"{sent}\n{agent.Log}");
        Assert.Contains("laptop2 is offline and runs it when it connects", sent.Stdout);
        Assert.Equal(["offline"], _hub.Counted("laptop2"));
        Assert.Contains("completed", results.Stdout);
        Assert.False(Fixtures.IsRunning(agent.Pid));
    }

    [Fact(Timeout = 60_000)]
    public async Task An_agent_refused_while_another_holds_the_lease_retries_and_takes_over_when_it_frees()
    {
        // Arrange
        await StartAsync();
        var holder = await _hub.ConnectAgentAsync("laptop2");
        using var agent = PythonAgent.Start(_hub, "laptop2");
        using var client = Client("desktop");
        var routed = await client.RouteAsync(new RouteRequest { Target = "laptop2", Text = "/count lease", UniqueKey = "lease" });
        await WaitForAsync(() => agent.Log.Contains("409", StringComparison.Ordinal));

        // Act
        await holder.DisposeAsync();
        var done = await FinishedAsync(client, routed.Command!.Id);

        // Assert
        Assert.Equal("completed", done.Status);
        Assert.Equal(["lease"], _hub.Counted("laptop2"));
    }

    [Fact(Timeout = 60_000)]
    public async Task An_agent_killed_while_a_command_runs_reports_it_in_doubt_after_restart_and_never_runs_it_again()
    {
        // Arrange
        await StartAsync();
        var commands = Path.Combine(_hub.Home("laptop2"), "python-commands");
        Directory.CreateDirectory(commands);
        var slow = Path.Combine(commands, "slow");
        File.WriteAllText(slow, "#!/bin/sh\necho started >> \"$ISAAC_COUNT_DIR/count\"\nsleep 30\n");
        File.SetUnixFileMode(slow, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using var client = Client("desktop");
        var first = PythonAgent.Start(_hub, "laptop2", commands: commands);
        var routed = await client.RouteAsync(new RouteRequest { Target = "laptop2", Text = "/slow", UniqueKey = "slow" });
        await WaitForAsync(() => _hub.Counted("laptop2").Length == 1);

        // Act
        first.Dispose();
        using var second = PythonAgent.Start(_hub, "laptop2", commands: commands);
        var done = await FinishedAsync(client, routed.Command!.Id);

        // Assert
        Assert.False(Fixtures.IsRunning(first.Pid));
        Assert.Equal("in_doubt", done.Status);
        Assert.Contains("stopped while it was running", done.Error);
        Assert.Equal(["started"], _hub.Counted("laptop2"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Every_message_between_the_python_agent_and_the_hub_matches_the_agent_message_schema()
    {
        // Arrange
        await StartAsync();
        var schema = await JsonSchema.FromFileAsync(Path.Combine(Fixtures.RepoRoot, "schemas", "hub", "agent-message.schema.json"));
        using var agent = await StartAgentAsync();

        // Act
        await _hub.RunAsync("desktop", "!laptop2 /echo traced");
        await _hub.RunAsync("desktop", "!laptop2 /nope");
        await WaitForAsync(() => File.ReadAllText(PythonAgent.Trace(_hub, "laptop2")).Contains("\"pong\"", StringComparison.Ordinal));
        var lines = File.ReadAllLines(PythonAgent.Trace(_hub, "laptop2"));

        // Assert
        foreach (var type in new[] { "hello", "ping", "accepted", "running", "completed", "rejected" })
        {
            Assert.Contains(lines, l => l.StartsWith($"> {{\"type\": \"{type}\"", StringComparison.Ordinal));
        }

        foreach (var type in new[] { "assign", "ack", "pong" })
        {
            Assert.Contains(lines, l => l.StartsWith($"< {{\"type\":\"{type}\"", StringComparison.Ordinal));
        }

        Assert.All(lines, line => Assert.True(schema.Validate(line[2..]).Count == 0, line));
    }

    [Fact(Timeout = 60_000)]
    public async Task An_unknown_command_is_rejected_by_the_agent_with_its_reason()
    {
        // Arrange
        await StartAsync();
        using var agent = await StartAgentAsync();

        // Act
        var run = await _hub.RunAsync("desktop", "!laptop2 /nope", "--json");

        // Assert
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("unknown command '/nope'", run.Stdout + run.Stderr);
        Assert.Empty(_hub.Counted("laptop2"));
    }

    private static Task WaitForAsync(Func<bool> condition) => WaitForAsync(() => Task.FromResult(condition()));

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 600; i++)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail("the condition never held within 30 s");
    }
}
