using System.Text.Json;
using Isaac.Core.Tests.Support;
using Isaac.Core.Wire;

namespace Isaac.Core.Tests.Hub;

/// <summary>What the hub hands an agent and when: sequence order, the window, busy re-offers, results and acks.</summary>
public sealed class HubAssignmentTests : IDisposable
{
    // Each test runs against every hub engine (HubEngines): its harness is made for the engine it is given.
    private HubHarness _hub = null!;

    public void Dispose() => _hub?.Dispose();

    private async Task<(HttpClient Sender, ScriptedAgent Agent)> StartAsync(int window)
    {
        await _hub.AddDevicesAsync("laptop2", "desktop");
        await _hub.StartHubAsync();
        var agent = await _hub.ConnectAgentAsync("laptop2");
        await agent.HelloAsync(window: window, capacity: 1);
        return (_hub.Http("desktop"), agent);
    }

    private static string[] Assigned(IEnumerable<AgentMessage> messages) =>
        messages.Select(m => { Assert.Equal("assign", m.Type); return m.Id!; }).ToArray();

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(HubEngines.All), MemberType = typeof(HubEngines))]
    public async Task Commands_reach_the_agent_in_seq_order_with_seq_and_parallel_set_and_never_more_than_the_window(string engine)
    {
        _hub = new HubHarness(engine);
        // Arrange
        await _hub.AddDevicesAsync("laptop2", "desktop");
        await _hub.StartHubAsync();
        using var sender = _hub.Http("desktop");
        var batch = await HubApi.RouteBatchAsync(sender,
            HubApi.Route("laptop2", "/one"), HubApi.Route("laptop2", "/two", parallel: true), HubApi.Route("laptop2", "/three", parallel: true));
        await using var agent = await _hub.ConnectAgentAsync("laptop2");

        // Act
        await agent.HelloAsync(window: 2, capacity: 1);
        var onHello = await agent.DrainAsync();
        var four = await HubApi.RouteAsync(sender, "laptop2", "/four");
        var whileFull = await agent.DrainAsync();
        await agent.SendAsync("accepted", batch[0].Id);
        await agent.SendAsync(new AgentMessage { Type = "completed", Id = batch[0].Id, Result = new() { Stdout = "one" } });
        var afterOne = await agent.DrainAsync();

        // Assert
        Assert.Equal(new long[] { 1, 2, 3 }, batch.Select(r => r.Seq - batch[0].Seq + 1));
        Assert.Equal([false, true, true], batch.Select(r => r.Parallel));
        Assert.True(four.Seq > batch[2].Seq);
        Assert.Equal([batch[0].Id, batch[1].Id], Assigned(onHello));
        Assert.Equal((batch[0].Seq, false, "/one", "desktop"), (onHello[0].Seq, onHello[0].Parallel, onHello[0].Text, onHello[0].Sender));
        Assert.Equal((batch[1].Seq, true), (onHello[1].Seq, onHello[1].Parallel));
        Assert.Empty(whileFull);
        Assert.Equal(("ack", batch[0].Id), (afterOne[0].Type, afterOne[0].Id));
        Assert.Equal([batch[2].Id], Assigned(afterOne.Skip(1)));
        Assert.Equal((batch[2].Seq, true), (afterOne[1].Seq, afterOne[1].Parallel));
        var stored = await HubApi.GetAsync(sender, batch[1].Id);
        Assert.Equal((RoutedStatus.Assigned, true, batch[1].Seq), (stored.Status, stored.Parallel, stored.Seq));
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(HubEngines.All), MemberType = typeof(HubEngines))]
    public async Task A_busy_rejection_puts_the_command_back_and_it_is_offered_again_in_seq_order(string engine)
    {
        _hub = new HubHarness(engine);
        // Arrange
        var (sender, agent) = await StartAsync(window: 2);
        await using var agentLifetime = agent;
        using var senderLifetime = sender;
        var one = await HubApi.RouteAsync(sender, "laptop2", "/one");
        var two = await HubApi.RouteAsync(sender, "laptop2", "/two");
        var three = await HubApi.RouteAsync(sender, "laptop2", "/three");
        Assert.Equal([one.Id, two.Id], Assigned(await agent.DrainAsync()));

        // Act
        await agent.SendAsync("rejected", one.Id, "busy: 1 of 1 slots taken");
        var afterBusy = await agent.DrainAsync();
        var waiting = await HubApi.GetAsync(sender, one.Id);
        await agent.SendAsync("accepted", two.Id);
        await agent.SendAsync("completed", two.Id);
        var afterTwo = await agent.DrainAsync();

        // Assert
        Assert.Empty(afterBusy); // offered again only when a slot frees, or a busy agent would be asked again at once
        Assert.Equal(RoutedStatus.Accepted, waiting.Status);
        Assert.Equal("ack", afterTwo[0].Type);
        Assert.Equal([one.Id, three.Id], Assigned(afterTwo.Skip(1))); // the oldest goes first
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(HubEngines.All), MemberType = typeof(HubEngines))]
    public async Task On_a_new_connection_unaccepted_assignments_are_sent_again_first_and_held_ones_count_against_the_window(string engine)
    {
        _hub = new HubHarness(engine);
        // Arrange
        var (sender, agent) = await StartAsync(window: 2);
        using var senderLifetime = sender;
        var one = await HubApi.RouteAsync(sender, "laptop2", "/one");
        var two = await HubApi.RouteAsync(sender, "laptop2", "/two");
        var three = await HubApi.RouteAsync(sender, "laptop2", "/three");
        Assert.Equal([one.Id, two.Id], Assigned(await agent.DrainAsync()));
        await agent.SendAsync("accepted", one.Id);
        await agent.DrainAsync();
        await agent.DisposeAsync();

        // Act
        await HubApi.UntilAsync(async () => !(await HubApi.DevicesAsync(sender)).Single(d => d.Name == "laptop2").Online, TimeSpan.FromSeconds(10), "the first connection is gone");
        await using var again = await _hub.ConnectAgentAsync("laptop2");
        await again.HelloAsync(2, 1, null, one.Id);
        var resent = await again.DrainAsync();

        // Assert
        Assert.Equal([two.Id], Assigned(resent)); // one is held (running), so only one slot of two is free
        Assert.Equal(RoutedStatus.Running, (await HubApi.GetAsync(sender, one.Id)).Status);
        Assert.Equal(RoutedStatus.Accepted, (await HubApi.GetAsync(sender, three.Id)).Status);
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(HubEngines.All), MemberType = typeof(HubEngines))]
    public async Task In_doubt_is_stored_as_final_with_its_reason_and_acknowledged_even_when_repeated(string engine)
    {
        _hub = new HubHarness(engine);
        // Arrange
        var (sender, agent) = await StartAsync(window: 1);
        await using var agentLifetime = agent;
        using var senderLifetime = sender;
        var routed = await HubApi.RouteAsync(sender, "laptop2", "/deploy");
        await agent.DrainAsync();
        await agent.SendAsync("accepted", routed.Id);
        await agent.SendAsync("running", routed.Id);

        // Act
        await agent.SendAsync("in_doubt", routed.Id, "the agent restarted while it ran");
        var first = await agent.DrainAsync();
        await agent.SendAsync("in_doubt", routed.Id, "again");
        await agent.SendAsync(new AgentMessage { Type = "completed", Id = routed.Id, Result = new() { Stdout = "late" } });
        var repeated = await agent.DrainAsync();
        var stored = await HubApi.GetAsync(sender, routed.Id);

        // Assert
        Assert.Equal([("ack", routed.Id)], first.Select(m => (m.Type, m.Id)));
        Assert.Equal([("ack", routed.Id), ("ack", routed.Id)], repeated.Select(m => (m.Type, m.Id)));
        Assert.Equal((RoutedStatus.InDoubt, "the agent restarted while it ran"), (stored.Status, stored.Error));
        Assert.Null(stored.Result);
        Assert.True(RoutedStatus.IsFinal(stored.Status));
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(HubEngines.All), MemberType = typeof(HubEngines))]
    public async Task A_minimal_result_with_explicit_nulls_is_stored_with_defaults_filled_in(string engine)
    {
        _hub = new HubHarness(engine);
        // Arrange
        var (sender, agent) = await StartAsync(window: 2);
        await using var agentLifetime = agent;
        using var senderLifetime = sender;
        var plain = await HubApi.RouteAsync(sender, "laptop2", "/hi");
        var nulls = await HubApi.RouteAsync(sender, "laptop2", "/hi");
        await agent.DrainAsync();

        // Act
        await agent.SendRawAsync($$$"""{"type":"completed","id":"{{{plain.Id}}}","result":{"status":"success","stdout":"hi"}}""");
        await agent.SendRawAsync("""{"type":"completed","id":"ID","result":{"status":"success","stdout":"hi","stderr":null,"kind":null,"meta":null,"table":{"columns":null,"rows":[null,["a",null]]}}}""".Replace("ID", nulls.Id, StringComparison.Ordinal));
        await agent.DrainAsync();
        using var http = _hub.Http("desktop");
        using var raw = JsonDocument.Parse(await http.GetStringAsync($"/v1/commands/{nulls.Id}"));
        var first = await HubApi.GetAsync(sender, plain.Id);
        var second = await HubApi.GetAsync(sender, nulls.Id);

        // Assert
        Assert.Equal((RoutedStatus.Completed, "hi", "", "text"), (first.Status, first.Result?.Stdout, first.Result?.Stderr, first.Result?.Kind));
        Assert.Empty(first.Result!.Meta);
        Assert.Equal(("hi", "", "text"), (second.Result?.Stdout, second.Result?.Stderr, second.Result?.Kind));
        Assert.Empty(second.Result!.Meta);
        Assert.Empty(second.Result.Table!.Columns);
        Assert.Equal(2, second.Result.Table.Rows.Count);
        Assert.Empty(second.Result.Table.Rows[0]);
        Assert.Equal(["a", ""], second.Result.Table.Rows[1]);
        Assert.Equal(JsonValueKind.Object, raw.RootElement.GetProperty("result").GetProperty("meta").ValueKind);
    }
}
