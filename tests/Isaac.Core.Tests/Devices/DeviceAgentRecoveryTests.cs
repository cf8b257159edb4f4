using Isaac.Core.Devices;
using Isaac.Core.Manifests;
using Isaac.Core.Tests.Support;
using Isaac.Core.Wire;

namespace Isaac.Core.Tests.Devices;

/// <summary>What an agent does at start with what its predecessor left in agent.db.</summary>
public sealed class DeviceAgentRecoveryTests : IDisposable
{
    private readonly TempDir _home = new();

    public void Dispose() => _home.Dispose();

    private string StorePath => Path.Combine(_home.Path, "agent.db");

    /// <summary>Leaves rows as an agent killed mid-run would: one running, others received.</summary>
    private void LeaveBehind(string running, params (string Id, long Seq)[] received)
    {
        using var store = new AgentStore(StorePath);
        Assert.NotNull(store.Receive(running, "desktop", running, seq: 1, parallel: false));
        Assert.True(store.MarkRunning(running));
        foreach (var (id, seq) in received)
        {
            Assert.NotNull(store.Receive(id, "desktop", id, seq, parallel: false));
        }
    }

    private async Task<CommandCatalog> CatalogAsync(string name, bool idempotent)
    {
        var root = _home.Combine("commands");
        TestManifests.Script(root, name, "echo '{}'");
        File.WriteAllText(Path.Combine(root, name, "command.yaml"),
            TestManifests.Yaml(name, "run.sh", extra: idempotent ? "queue:\n  idempotent: true" : ""));
        var catalog = await TestManifests.CatalogAsync(root);
        Assert.Empty(catalog.Problems);
        return catalog;
    }

    [Fact(Timeout = 60_000)]
    public async Task A_command_left_running_is_reported_in_doubt_and_not_run_again()
    {
        // Arrange
        LeaveBehind("/count");
        await using var hub = new ScriptedHub();
        var recorder = new RunRecorder();
        var catalog = await CatalogAsync("count", idempotent: false);

        // Act
        await using var agent = AgentHarness.Start(AgentHarness.Options(hub, _home.Path), recorder, catalog);
        var connection = await hub.NextConnectionAsync();
        var inDoubt = await connection.WaitForAsync("in_doubt", "/count");

        // Assert
        Assert.Equal("The agent on laptop2 stopped while '/count' was running; it may or may not have run. Run it again by hand if needed.", inDoubt.Reason);
        Assert.Equal(0, recorder.Starts("/count"));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_command_left_running_runs_again_when_its_manifest_says_idempotent()
    {
        // Arrange
        LeaveBehind("/count");
        await using var hub = new ScriptedHub();
        var recorder = new RunRecorder();
        var catalog = await CatalogAsync("count", idempotent: true);

        // Act
        await using var agent = AgentHarness.Start(AgentHarness.Options(hub, _home.Path), recorder, catalog);
        var connection = await hub.NextConnectionAsync();
        var completed = await connection.WaitForAsync("completed", "/count");

        // Assert
        Assert.Equal(1, recorder.Starts("/count"));
        Assert.DoesNotContain(connection.Received, m => m.Type == "in_doubt");
        Assert.NotNull(completed.Result);
    }

    [Fact(Timeout = 60_000)]
    public async Task Received_but_unstarted_commands_run_in_seq_order_after_a_restart()
    {
        // Arrange: received out of order, as a hub re-sending after its own restart might.
        LeaveBehind("r0", ("c3", 3), ("c2", 2), ("c4", 4));
        await using var hub = new ScriptedHub();
        var recorder = new RunRecorder();

        // Act
        await using var agent = AgentHarness.Start(AgentHarness.Options(hub, _home.Path), recorder);
        var connection = await hub.NextConnectionAsync();
        await connection.WaitForAsync("completed", "c4");

        // Assert
        Assert.Equal(["start c2", "end c2", "start c3", "end c3", "start c4", "end c4"], recorder.Events);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_result_the_hub_never_acknowledged_is_sent_again_on_every_connection_until_it_is()
    {
        // Arrange
        await using var hub = new ScriptedHub { AckResults = false };
        var recorder = new RunRecorder();
        await using var agent = AgentHarness.Start(AgentHarness.Options(hub, _home.Path), recorder);
        var first = await hub.NextConnectionAsync();
        await first.WaitForAsync(m => m.Type == "hello");
        await first.AssignAsync("c1", seq: 1);
        await first.WaitForAsync("completed", "c1");

        // Act
        first.Drop();
        var second = await hub.NextConnectionAsync();
        await second.WaitForAsync("completed", "c1");
        await second.SendAsync(new AgentMessage { Type = "ack", Id = "c1" });
        await AgentHarness.WaitUntilAsync(() => ReportedInStore("c1"), "the ack is stored");
        second.Drop();
        var third = await hub.NextConnectionAsync();
        await third.WaitForAsync(m => m.Type == "hello");
        await third.AssignAsync("c2", seq: 2);
        await third.WaitForAsync("completed", "c2");

        // Assert: unreported results go out right after hello, so c1 would have come before c2.
        Assert.Equal(1, recorder.Starts("c1"));
        Assert.DoesNotContain(third.Received, m => m is { Type: "completed", Id: "c1" });
    }

    [Fact(Timeout = 60_000)]
    public async Task An_unreadable_agent_db_is_moved_aside_and_the_agent_serves_at_once()
    {
        // Arrange
        var garbage = "this is not an SQLite database, not even close; " + new string('x', 4096);
        File.WriteAllText(StorePath, garbage);
        await using var hub = new ScriptedHub();
        var log = new ListLogger<DeviceAgent>();
        var options = AgentHarness.Options(hub, _home.Path) with { MaxReconnect = TimeSpan.FromMilliseconds(200) };

        // Act
        await using var agent = AgentHarness.Start(options, new RunRecorder(), logger: log);
        var connection = await hub.NextConnectionAsync();

        // Assert: serving without anyone touching the file; the damaged one is kept beside it, as it was.
        await connection.WaitForAsync(m => m.Type == "hello");
        var aside = Assert.Single(Directory.GetFiles(_home.Path, "agent.db.corrupt-*"));
        Assert.Equal(garbage, File.ReadAllText(aside));
        Assert.Contains(log.Lines, line => line.Contains("agent.db was damaged", StringComparison.Ordinal));
    }

    private bool ReportedInStore(string id)
    {
        // The agent holds the store; a second reader connection only reads.
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={StorePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT reported FROM assignments WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        return command.ExecuteScalar() is 1L;
    }
}
