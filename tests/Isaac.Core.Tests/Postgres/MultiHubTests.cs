using System.Net;
using Isaac.Core.Tests.Hub;
using Isaac.Core.Tests.Support;
using Isaac.Core.Wire;
using Isaac.Hub;
using Npgsql;

namespace Isaac.Core.Tests.Postgres;

/// <summary>Several hubs on one PostgreSQL store (real hub processes or in-process hubs, the run's private cluster).</summary>
public sealed class MultiHubTests : IDisposable
{
    // Appends the command's first argument to $ISAAC_HOME/count: a record of what ran, in order.
    private const string Count = """req=$(cat); echo "$req" | grep -o '"args":\["[^"]*"' | cut -d'"' -f4 >> "$ISAAC_HOME/count"; printf '{"status":"success","stdout":"ok"}'""";

    private HubHarness _hub = null!;

    public void Dispose() => _hub?.Dispose();

    private HttpClient Http(int hub, string device)
    {
        var http = _hub.Http(device);
        http.BaseAddress = new Uri(_hub.AddressOf(hub));
        return http;
    }

    [PostgresFact(Timeout = 90_000)]
    public async Task A_command_posted_at_hub_B_for_a_device_on_hub_A_is_delivered_once_and_its_result_reaches_B()
    {
        // Arrange
        _hub = new HubHarness("postgres");
        await _hub.AddDevicesAsync("laptop2", "desktop");
        await _hub.StartHubAsync(0);
        await _hub.StartHubAsync(1);
        await using var agent = await ScriptedAgent.ConnectAsync(_hub.AddressOf(0), _hub.Token("laptop2"));
        await agent.HelloAsync(window: 4);
        await agent.DrainAsync();
        using var atB = Http(1, "desktop");

        // Act
        var routed = await HubApi.RouteAsync(atB, "laptop2", "/one");
        var assign = await agent.Next(TimeSpan.FromSeconds(30));
        await agent.SendAsync("accepted", assign.Id!);
        await agent.SendAsync(new AgentMessage { Type = "completed", Id = assign.Id, Result = new() { Stdout = "one" } });
        var result = await HubApi.GetAsync(atB, routed.Id, waitMs: 30_000);
        var more = await agent.DrainAsync();

        // Assert
        Assert.True(routed.TargetOnline);
        Assert.Equal(("assign", routed.Id), (assign.Type, assign.Id));
        Assert.Equal((RoutedStatus.Completed, "one"), (result.Status, result.Result?.Stdout));
        Assert.DoesNotContain(more, m => m.Type == "assign");
    }

    [PostgresFact(Timeout = 90_000)]
    public async Task Two_agents_for_one_device_on_different_hubs_get_one_lease()
    {
        // Arrange
        _hub = new HubHarness("postgres");
        await _hub.AddDevicesAsync("laptop2", "desktop");
        await _hub.StartHubAsync(0);
        await _hub.StartHubAsync(1);
        await using var first = await ScriptedAgent.ConnectAsync(_hub.AddressOf(0), _hub.Token("laptop2"));
        await first.HelloAsync(window: 4);
        await first.DrainAsync();

        // Act
        var second = await ScriptedAgent.TryConnectAsync(_hub.AddressOf(1), _hub.Token("laptop2"));
        using var atB = Http(1, "desktop");
        var devices = await HubApi.DevicesAsync(atB);
        var routed = await HubApi.RouteAsync(atB, "laptop2", "/one");
        var assign = await first.Next(TimeSpan.FromSeconds(30));

        // Assert
        Assert.Equal(HttpStatusCode.Conflict, second);
        Assert.True(devices.Single(d => d.Name == "laptop2").Online);
        Assert.Equal(routed.Id, assign.Id);
    }

    [PostgresFact(Timeout = 180_000)]
    public async Task A_hub_killed_with_200_commands_in_flight_loses_none_and_runs_none_twice_in_order_via_the_other_hub()
    {
        // Arrange: the agent knows both hubs and serves through hub A.
        _hub = new HubHarness("postgres");
        await _hub.AddDevicesAsync("laptop2", "desktop");
        _hub.AddCommand("laptop2", "count", Count);
        await _hub.StartHubAsync(0);
        await _hub.StartHubAsync(1);
        _hub.AgentHubs = $"{_hub.AddressOf(0)},{_hub.AddressOf(1)}";
        _hub.StartAgent("laptop2", capacity: 1);
        using var atA = Http(0, "desktop");
        await HubApi.UntilAsync(async () => (await HubApi.DevicesAsync(atA)).Single(d => d.Name == "laptop2").Online, TimeSpan.FromSeconds(30), "laptop2 is online");
        var texts = Enumerable.Range(0, 200).Select(i => $"/count {i}").ToArray();
        foreach (var chunk in texts.Chunk(100))
        {
            await HubApi.RouteBatchAsync(atA, [.. chunk.Select(text => HubApi.Route("laptop2", text))]);
        }

        // Act: SIGKILL hub A mid-traffic.
        await HubApi.UntilAsync(() => Task.FromResult(_hub.Counted("laptop2").Length >= 10), TimeSpan.FromSeconds(60), "10 commands ran");
        _hub.KillHub(0);
        await HubApi.UntilAsync(() => Task.FromResult(_hub.CommandStatuses().Values.All(s => s == RoutedStatus.Completed)), TimeSpan.FromSeconds(150), "all 200 completed");

        // Assert
        Assert.Equal(200, _hub.CommandStatuses().Count);
        Assert.Equal(Enumerable.Range(0, 200).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), _hub.Counted("laptop2"));
    }

    [PostgresFact(Timeout = 90_000)]
    public async Task A_lost_notification_costs_latency_not_the_command_the_poll_delivers_it()
    {
        // Arrange: two in-process hubs that, once their listeners are killed, never listen again.
        using var dir = new TempDir();
        var store = PostgresCluster.Shared.CreateDatabase();
        string desktop, laptop;
        using (var setup = new PostgresHubStore(store))
        {
            desktop = setup.AddDevice("desktop", replace: false);
            laptop = setup.AddDevice("laptop2", replace: false);
        }

        var hubA = await StartInProcessAsync(store, dir.Combine("a"));
        var hubB = await StartInProcessAsync(store, dir.Combine("b"));
        await using var a = hubA.App;
        await using var b = hubB.App;
        await using var agent = await ScriptedAgent.ConnectAsync(hubA.Address, laptop);
        await agent.HelloAsync(window: 4);
        await agent.DrainAsync();
        await HubApi.UntilAsync(() => Task.FromResult(Listeners(store) == 2), TimeSpan.FromSeconds(30), "both hubs listen");
        Execute(store, $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{PostgresHubStore.ListenerName}' AND datname = current_database();");
        await HubApi.UntilAsync(() => Task.FromResult(Listeners(store) == 0), TimeSpan.FromSeconds(30), "the listeners are gone");
        using var atB = new HttpClient { BaseAddress = new Uri(hubB.Address) };
        atB.DefaultRequestHeaders.Authorization = new("Bearer", desktop);

        // Act
        var routed = await HubApi.RouteAsync(atB, "laptop2", "/one");
        var assign = await agent.Next(TimeSpan.FromSeconds(30));

        // Assert: delivered, and not by a notification (nobody listens).
        Assert.Equal(("assign", routed.Id), (assign.Type, assign.Id));
        Assert.Equal(0, Listeners(store));
    }

    [PostgresFact]
    public void A_presence_lease_holds_one_hub_per_device_until_it_expires_and_the_old_holder_learns_it_lost_it()
    {
        // Arrange: times are given, not waited for.
        using var store = new PostgresHubStore(PostgresCluster.Shared.CreateDatabase());
        var t0 = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var lease = TimeSpan.FromSeconds(10);

        // Act
        var a = store.TryLease("laptop2", "hub-a", t0 + lease, t0);
        var bWhileHeld = store.TryLease("laptop2", "hub-b", t0.AddSeconds(5) + lease, t0.AddSeconds(5));
        var aAgain = store.TryLease("laptop2", "hub-a", t0.AddSeconds(5) + lease, t0.AddSeconds(5));
        var onlineAt14 = store.IsLeased("laptop2", t0.AddSeconds(14));
        var bAfterExpiry = store.TryLease("laptop2", "hub-b", t0.AddSeconds(16) + lease, t0.AddSeconds(16));
        var aRenews = store.Renew("hub-a", t0.AddSeconds(17) + lease);
        var bRenews = store.Renew("hub-b", t0.AddSeconds(17) + lease);
        store.Release("laptop2", "hub-a");
        var afterWrongRelease = store.IsLeased("laptop2", t0.AddSeconds(18));
        store.Release("laptop2", "hub-b");

        // Assert
        Assert.True(a);
        Assert.False(bWhileHeld);
        Assert.True(aAgain);
        Assert.True(onlineAt14);
        Assert.True(bAfterExpiry);
        Assert.Empty(aRenews);
        Assert.Equal(["laptop2"], bRenews);
        Assert.True(afterWrongRelease);
        Assert.False(store.IsLeased("laptop2", t0.AddSeconds(18)));
    }

    [PostgresFact(Timeout = 90_000)]
    public async Task A_store_newer_than_the_binary_is_refused_with_one_line()
    {
        // Arrange
        var store = PostgresCluster.Shared.CreateDatabase();
        using (new PostgresHubStore(store))
        {
        }

        Execute(store, "UPDATE isaac_schema SET version = 99;");
        using var home = new TempDir();

        // Act
        var run = await IsaacProcess.RunAsync(home.Path, "hub", "add-device", "laptop2", "--store", store);

        // Assert
        Assert.Equal(1, run.ExitCode);
        Assert.Single(run.Stderr.Trim().Split('\n'));
        Assert.Contains($"schema version 99, but this Isaac knows only up to {PostgresHubStore.Version}", run.Stderr);
    }

    [PostgresFact(Timeout = 90_000)]
    public async Task Migrate_moves_devices_history_and_pending_commands_and_nothing_is_lost()
    {
        // Arrange: a SQLite hub with devices, history, finished and pending commands.
        using var dir = new TempDir();
        string token;
        IReadOnlyList<CommandRecord> before;
        using (var sqlite = new HubStore(dir.Path))
        {
            token = sqlite.AddDevice("laptop2", replace: false);
            sqlite.AddDevice("desktop", replace: false);
            var created = sqlite.CreateMany("desktop", [.. Enumerable.Range(0, 5).Select(i => HubApi.Route("laptop2", $"/count {i}"))]);
            sqlite.Apply("laptop2", [new AgentMessage { Type = "completed", Id = created[0].Record.Id, Result = new() { Stdout = "zero" } }]);
            sqlite.Assign("laptop2", [created[1].Record.Id]);
            sqlite.AppendHistory("desktop", "ls");
            sqlite.AppendHistory("laptop2", "pwd");
            before = sqlite.GetMany([.. created.Select(c => c.Record.Id)]);
        }

        var store = PostgresCluster.Shared.CreateDatabase();

        // Act
        var run = await IsaacProcess.RunAsync(dir.Path, "hub", "migrate", "--from", dir.Path, "--to", store);

        // Assert
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("2 devices, 5 routed commands and 2 history entries", run.Stdout);
        using var moved = new PostgresHubStore(store);
        Assert.Equal("laptop2", moved.Authenticate(token));
        var after = moved.GetMany([.. before.Select(r => r.Id)]).OrderBy(r => r.Seq).ToList();
        Assert.Equal(before.OrderBy(r => r.Seq).Select(r => (r.Id, r.Status, r.Seq, r.Text, r.Result?.Stdout)), after.Select(r => (r.Id, r.Status, r.Seq, r.Text, r.Result?.Stdout)));
        Assert.Equal(["ls", "pwd"], moved.History(10).Select(h => h.Text));
        Assert.Equal(["/count 1", "/count 2", "/count 3", "/count 4"], moved.NextWaiting("laptop2", 0, 10).Select(r => r.Text));
        var next = moved.Create("desktop", HubApi.Route("laptop2", "/after"));
        Assert.True(next.Record.Seq > after.Max(r => r.Seq));
        var rerun = await IsaacProcess.RunAsync(dir.Path, "hub", "migrate", "--from", dir.Path, "--to", store);
        Assert.Equal(1, rerun.ExitCode);
        Assert.Contains("already holds 6 routed commands", rerun.Stderr);
    }

    private static async Task<(Microsoft.AspNetCore.Builder.WebApplication App, string Address)> StartInProcessAsync(string store, string data)
    {
        using var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var address = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}";
        probe.Stop();
        var options = new HubOptions { DataDirectory = data, Urls = address, Store = store, ListenRetry = TimeSpan.FromHours(1), PollInterval = TimeSpan.FromMilliseconds(200) };
        var app = HubServer.Build(options);
        await HubServer.StartAsync(app, options);
        return (app, address);
    }

    private static long Listeners(string store) =>
        (long)(Scalar(store, $"SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = '{PostgresHubStore.ListenerName}' AND datname = current_database();") ?? 0L);

    private static object? Scalar(string store, string sql)
    {
        using var connection = new NpgsqlConnection(store);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        return command.ExecuteScalar();
    }

    private static void Execute(string store, string sql) => Scalar(store, sql);
}
