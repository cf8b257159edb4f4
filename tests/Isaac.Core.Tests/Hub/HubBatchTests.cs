using System.Net.WebSockets;
using Isaac.Core;
using Isaac.Core.Tests.Support;
using Isaac.Core.Wire;
using Isaac.Hub;
using Isaac.Plugins;
using Microsoft.Data.Sqlite;

namespace Isaac.Core.Tests.Hub;

/// <summary>Agent protocol version 2: assignments, reports and acks in batches, each batch one transaction at the hub.</summary>
public sealed class HubBatchTests : IDisposable
{
    private readonly HubHarness _hub = new();
    private readonly TempDir _dir = new();

    public void Dispose()
    {
        _hub.Dispose();
        _dir.Dispose();
    }

    [Fact(Timeout = 60_000)]
    public async Task A_version_2_agent_gets_its_backlog_as_one_batch_in_seq_order_and_each_report_is_stored_and_answered_at_once()
    {
        // Arrange: five commands wait for laptop2
        await _hub.AddDevicesAsync("laptop2", "desktop");
        await _hub.StartHubAsync();
        using var sender = _hub.Http("desktop");
        var routed = await HubApi.RouteBatchAsync(sender, [.. Enumerable.Range(1, 5).Select(i => HubApi.Route("laptop2", $"/job {i}", parallel: i == 3))]);
        await using var agent = await _hub.ConnectAgentAsync("laptop2");

        // Act
        await agent.SendAsync(new AgentMessage { Type = "hello", Version = AgentProtocol.Batched, Window = 10, Capacity = 1 });
        var welcome = await agent.Next();
        var batch = await agent.Next();
        await agent.SendAsync(new AgentMessage
        {
            Type = "report",
            Reports = [.. routed.Select(r => new AgentMessage { Type = "accepted", Id = r.Id }),
                new() { Type = "running", Id = routed[0].Id }, new() { Type = "completed", Id = routed[0].Id, Result = CommandResponse.Ok("one") }],
        });
        var answer = await agent.Next();
        var statuses = await Task.WhenAll(routed.Select(r => HubApi.GetAsync(sender, r.Id)));

        // Assert
        Assert.Equal(("welcome", AgentProtocol.Batched), (welcome.Type, welcome.Version));
        Assert.Equal("assign_batch", batch.Type);
        Assert.Equal(routed.Select(r => (r.Id, r.Seq, r.Parallel, r.Text)), batch.Commands!.Select(c => (c.Id!, c.Seq ?? 0, c.Parallel ?? false, c.Text!)));
        Assert.All(batch.Commands!, c => Assert.Equal(("assign", "desktop"), (c.Type, c.Sender)));
        Assert.Equal("ack_batch", answer.Type);
        Assert.Equal([routed[0].Id], answer.Ids!);
        Assert.Equal([RoutedStatus.Completed, .. Enumerable.Repeat(RoutedStatus.DeviceAccepted, 4)], statuses.Select(s => s.Status));
        Assert.Equal("one", statuses[0].Result?.Stdout);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_version_1_agent_is_served_one_message_at_a_time_and_a_report_from_it_is_refused_with_a_clear_reason()
    {
        // Arrange
        await _hub.AddDevicesAsync("laptop2", "desktop");
        await _hub.StartHubAsync();
        using var sender = _hub.Http("desktop");
        var routed = await HubApi.RouteBatchAsync(sender, HubApi.Route("laptop2", "/one"), HubApi.Route("laptop2", "/two"));
        await using var agent = await _hub.ConnectAgentAsync("laptop2");

        // Act
        await agent.HelloAsync(window: 2, capacity: 1);
        var first = await agent.Next();
        var second = await agent.Next();
        await agent.SendAsync(new AgentMessage { Type = "report", Reports = [new() { Type = "accepted", Id = routed[0].Id }] });
        await agent.WaitEndedAsync();

        // Assert
        Assert.Equal([("assign", routed[0].Id), ("assign", routed[1].Id)], new[] { (first.Type, first.Id), (second.Type, second.Id) });
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, agent.CloseStatus);
        Assert.Equal("'report' needs version 2 in the agent's hello; send one message per command", agent.CloseDescription);
        Assert.Equal(RoutedStatus.Assigned, (await HubApi.GetAsync(sender, routed[0].Id)).Status);
    }

    [Fact]
    public void A_report_the_store_cannot_finish_changes_nothing()
    {
        // Arrange: two commands, and a trigger that makes storing the second one's result fail
        using var store = new HubStore(_dir.Path);
        store.AddDevice("desktop", replace: false);
        store.AddDevice("laptop2", replace: false);
        var created = store.CreateMany("desktop", [HubApi.Route("laptop2", "/one"), HubApi.Route("laptop2", "/two")]);
        var (one, two) = (created[0].Record.Id, created[1].Record.Id);
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, "hub.db")};Pooling=False"))
        {
            connection.Open();
            connection.Execute($"CREATE TRIGGER poison BEFORE UPDATE ON commands WHEN NEW.id = '{two}' AND NEW.status = 'completed' BEGIN SELECT RAISE(ABORT, 'injected'); END;");
        }

        // Act
        var failure = Record.Exception(() => store.Apply("laptop2",
        [
            new AgentMessage { Type = "completed", Id = one, Result = CommandResponse.Ok("one") },
            new AgentMessage { Type = "completed", Id = two, Result = CommandResponse.Ok("two") },
        ]));

        // Assert: the first result of the report is not stored either
        Assert.IsType<StoreException>(failure);
        Assert.IsType<SqliteException>(failure.InnerException);
        Assert.Equal((RoutedStatus.Accepted, null), (store.Get(one)!.Status, store.Get(one)!.Result));
        Assert.Equal(RoutedStatus.Accepted, store.Get(two)!.Status);
    }

    [Fact]
    public void The_next_waiting_commands_come_from_the_partial_index_past_the_cursor_whatever_lies_before_them()
    {
        // Arrange: 30 commands, the first 20 finished
        using var store = new HubStore(_dir.Path);
        store.AddDevice("desktop", replace: false);
        store.AddDevice("laptop2", replace: false);
        var created = store.CreateMany("desktop", [.. Enumerable.Range(0, 30).Select(i => HubApi.Route("laptop2", $"/job {i}"))]).Select(c => c.Record).ToList();
        store.Apply("laptop2", [.. created.Take(20).Select(r => new AgentMessage { Type = "completed", Id = r.Id })]);

        // Act
        var first = store.NextWaiting("laptop2", 0, 3);
        var after = store.NextWaiting("laptop2", first[^1].Seq, 100);
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, "hub.db")};Pooling=False");
        connection.Open();
        var plan = string.Join(" | ", QueryPlan(connection));

        // Assert
        Assert.Equal(created.Skip(20).Take(3).Select(r => r.Id), first.Select(r => r.Id));
        Assert.Equal(created.Skip(23).Select(r => r.Id), after.Select(r => r.Id));
        Assert.Contains("USING INDEX ix_commands_waiting (target=? AND seq>?)", plan);
    }

    [Fact]
    public void A_batch_costs_one_transaction_at_the_hub_whatever_its_size()
    {
        // Arrange
        using var store = new HubStore(_dir.Path);
        store.AddDevice("desktop", replace: false);
        store.AddDevice("laptop2", replace: false);
        var wal = Path.Combine(_dir.Path, "hub.db-wal");

        // Act: 50 routes posted, assigned, accepted, run and finished, each step as one batch
        var before = WalCommits.Count(wal);
        var created = store.CreateMany("desktop", [.. Enumerable.Range(0, 50).Select(i => HubApi.Route("laptop2", $"/job {i}"))]).Select(c => c.Record.Id).ToList();
        var afterCreate = WalCommits.Count(wal);
        store.Assign("laptop2", created);
        var afterAssign = WalCommits.Count(wal);
        store.Apply("laptop2", [.. created.Select(id => new AgentMessage { Type = "accepted", Id = id }), .. created.Select(id => new AgentMessage { Type = "running", Id = id })]);
        var afterReport = WalCommits.Count(wal);
        store.Apply("laptop2", [.. created.Select(id => new AgentMessage { Type = "completed", Id = id })]);
        var afterResults = WalCommits.Count(wal);

        // Assert
        Assert.Equal([1, 1, 1, 1], new[] { afterCreate - before, afterAssign - afterCreate, afterReport - afterAssign, afterResults - afterReport });
        Assert.All(created, id => Assert.Equal(RoutedStatus.Completed, store.Get(id)!.Status));
    }

    private static IEnumerable<string> QueryPlan(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            EXPLAIN QUERY PLAN SELECT * FROM commands INDEXED BY ix_commands_waiting
            WHERE target = 'laptop2' AND status IN ('accepted', 'assigned') AND seq > 0 ORDER BY seq LIMIT 3;
            """;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return reader.GetString(3);
        }
    }
}
