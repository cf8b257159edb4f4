using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using CsCheck;
using Isaac.Core.Tests.Hub;
using Isaac.Core.Tests.Security;
using Isaac.Core.Tests.Support;
using Isaac.Core.Wire;

namespace Isaac.Core.Tests.Fuzz;

/// <summary>
/// Hostile input against real processes over loopback, for a few seconds each: HTTP bodies to the hub, agent
/// messages to the hub, and hub messages to a real <c>isaac agent</c>. Nothing crashes, nothing answers 500, every
/// refusal says why, and each side serves normally afterwards.
/// </summary>
public sealed class HubEdgeFuzzTests : IDisposable
{
    private const int Seconds = 4;

    // Messages that parse as assignments are stored and run by the agent (a durable write each): a bounded number
    // keeps the agent's backlog, and the wait for its answer to the final one, short on a loaded machine.
    private const int MaxHubMessages = 300;

    private readonly HubHarness _hub = new();

    public void Dispose() => _hub.Dispose();

    [Fact(Timeout = 120_000)]
    public async Task Random_and_mutated_bodies_never_get_a_500_and_every_4xx_is_a_problem_that_says_why()
    {
        // Arrange
        await _hub.AddDevicesAsync("laptop2", "desktop");
        await _hub.StartHubAsync();
        using var http = _hub.Http("desktop");
        (string Path, Gen<string> Body)[] endpoints =
        [
            ("/v1/commands", HostileJson.Around(HostileJson.Route)),
            ("/v1/commands/batch", HostileJson.Around(HostileJson.Batch)),
            ("/v1/meta", HostileJson.Around(HostileJson.Meta)),
            ("/v1/history", HostileJson.Around(HostileJson.Meta)),
        ];
        var answered = 0;

        // Act and Assert, per request
        await Gen.Int[0, endpoints.Length - 1].SelectMany(i => endpoints[i].Body.Select(body => (endpoints[i].Path, body))).SampleAsync(async request =>
        {
            using var response = await http.PostAsync(request.Path, HubApi.Json(request.body));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode} for {request.Path}: {text}");
            if ((int)response.StatusCode >= 400)
            {
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                using var problem = JsonDocument.Parse(text);
                Assert.True(problem.RootElement.GetProperty("title").GetString() is { Length: > 0 }, text);
                var detail = problem.RootElement.GetProperty("detail").GetString() ?? "";
                Assert.True(detail.Length > 0, text);
                PlainText.AssertNoInternals(detail, request.body);
            }

            Interlocked.Increment(ref answered);
        }, time: Seconds, threads: 2);

        // Assert: still serving
        Assert.True(answered > 20, $"only {answered} requests in {Seconds} s");
        Assert.False(_hub.HubProcess!.HasExited);
        Assert.Equal("accepted", (await HubApi.RouteAsync(http, "laptop2", "/zz-after-the-fuzz")).Status);
    }

    [Fact(Timeout = 120_000)]
    public async Task Random_agent_messages_are_served_or_refused_with_a_close_code_and_the_hub_serves_on()
    {
        // Arrange
        await _hub.AddDevicesAsync("laptop2", "desktop");
        await _hub.StartHubAsync();
        var messages = HostileJson.Around(HostileJson.AgentMessage);
        var deadline = DateTime.UtcNow.AddSeconds(Seconds);
        int sent = 0, refused = 0;

        // Act
        while (DateTime.UtcNow < deadline)
        {
            await using var agent = await ConnectWhenFreeAsync();
            await agent.HelloAsync(window: 1);
            while (DateTime.UtcNow < deadline && !agent.Ended.IsCompleted)
            {
                var message = messages.Single();
                sent++;
                if (!await SendAndPingAsync(agent, message))
                {
                    // Assert, per refusal: a close code for bad data or a protocol breach, and a reason
                    await agent.WaitEndedAsync();
                    Assert.True(agent.CloseStatus is WebSocketCloseStatus.InvalidPayloadData or WebSocketCloseStatus.PolicyViolation,
                        $"{message}: closed with {agent.CloseStatus} '{agent.CloseDescription}'");
                    Assert.False(string.IsNullOrWhiteSpace(agent.CloseDescription), message);
                    PlainText.AssertNoInternals(agent.CloseDescription, message);
                    refused++;
                }
            }
        }

        // Assert: the hub still serves the device and its HTTP API
        await using var good = await ConnectWhenFreeAsync();
        await good.HelloAsync(window: 1);
        using var http = _hub.Http("desktop");
        var routed = await HubApi.RouteAsync(http, "laptop2", "/zz-after-the-fuzz");
        var assigned = await good.DrainAsync();
        Assert.Contains(assigned, m => m.Type == "assign" && m.Id == routed.Id);
        Assert.True(sent > 20 && refused > 0, $"{sent} sent, {refused} refused");
        Assert.False(_hub.HubProcess!.HasExited);
    }

    [Fact(Timeout = 120_000)]
    public async Task Random_hub_messages_never_end_a_real_agent_which_serves_on_and_logs_what_it_ignored()
    {
        // Arrange
        await using var hub = new ScriptedHub();
        using var home = new TempDir();
        var environment = new Dictionary<string, string?> { ["ISAAC_HOME"] = home.Path, ["ISAAC_DEVICE"] = "laptop2", ["ISAAC_HUB"] = hub.Address.ToString(), ["ISAAC_TOKEN"] = "isk_fuzz" };
        var agent = IsaacProcess.Start(["agent", "--capacity", "2"], environment);
        try
        {
            var connection = await hub.NextConnectionAsync(TimeSpan.FromSeconds(60));
            await connection.WaitForAsync(m => m.Type == "hello", TimeSpan.FromSeconds(30));
            var messages = HostileJson.Around(HostileJson.HubMessage);
            var sent = new List<string>();

            // Act
            for (var deadline = DateTime.UtcNow.AddSeconds(Seconds); DateTime.UtcNow < deadline && sent.Count < MaxHubMessages;)
            {
                sent.Add(messages.Single());
                await connection.SendRawAsync(sent[^1]);
            }

            await connection.SendRawAsync("this is not json");
            await connection.AssignAsync("final", seq: 1_000_000, text: "/zz-final");
            var answer = await connection.WaitForAsync(m => m.Id == "final" && m.Type is "accepted" or "rejected", TimeSpan.FromSeconds(60));

            // Assert
            Assert.False(agent.HasExited);
            Assert.Single(hub.Connections);
            Assert.True(sent.Count > 20, $"only {sent.Count} messages sent");
            var log = string.Join("\n", Directory.GetFiles(home.Combine("logs")).Select(ReadShared));
            var ignored = log.Split('\n').Where(line => line.Contains("Ignored a malformed message from the hub", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(ignored);
            // The log line's category names the logging class; the reason after it is what must be plain.
            Assert.All(ignored, line => PlainText.AssertNoInternals(line[line.IndexOf("from the hub:", StringComparison.Ordinal)..], string.Join('\n', sent)));
            Assert.DoesNotContain("   at ", log, StringComparison.Ordinal);
        }
        finally
        {
            IsaacProcess.KillAll([agent]);
        }
    }

    private async Task<ScriptedAgent> ConnectWhenFreeAsync()
    {
        // The hub frees the device's lease once the previous connection's session has ended.
        for (var deadline = DateTime.UtcNow.AddSeconds(20); ; await Task.Delay(20))
        {
            try
            {
                return await _hub.ConnectAgentAsync("laptop2");
            }
            catch (WebSocketException) when (DateTime.UtcNow < deadline)
            {
                // 409 while the last session winds down
            }
        }
    }

    // True when the hub answered the ping after the message (it kept the connection), false when it closed it.
    private static async Task<bool> SendAndPingAsync(ScriptedAgent agent, string message)
    {
        try
        {
            await agent.SendRawAsync(message);
            await agent.SendRawAsync("""{"type":"ping"}""");
        }
        catch (WebSocketException)
        {
            return false;
        }

        while (true)
        {
            AgentMessage next;
            try
            {
                next = await agent.Next(TimeSpan.FromSeconds(20));
            }
            catch (Exception)
            {
                // Next fails once the hub has closed the connection (and its inbox with it): a refusal, if the
                // connection has ended; anything else (no answer in time) fails the test.
                if (await Task.WhenAny(agent.Ended, Task.Delay(TimeSpan.FromSeconds(10))) == agent.Ended)
                {
                    return false;
                }

                throw;
            }

            if (next.Type == "pong")
            {
                return true;
            }
        }
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StreamReader(stream).ReadToEnd();
    }
}
