using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Isaac.Core.Tests.Support;

/// <summary>
/// Real hub processes on free loopback ports, real agent processes, each with its own ISAAC_HOME. The engine is
/// "sqlite" (hub.db in <see cref="HubData"/>) or "postgres" (a fresh database in the run's private cluster, which
/// every hub of this harness shares).
/// </summary>
internal sealed class HubHarness : IDisposable
{
    private readonly TempDir _root = new();
    private readonly Dictionary<string, string> _tokens = [];
    private readonly List<Process> _processes = [];
    private readonly List<string> _addresses = [];
    private readonly Dictionary<int, Process> _hubs = [];

    public HubHarness(string engine = "sqlite")
    {
        Store = engine switch
        {
            "sqlite" => null,
            "postgres" => PostgresCluster.Shared.CreateDatabase(),
            _ => throw new ArgumentException($"no hub engine '{engine}'", nameof(engine)),
        };
        Address = AddressOf(0);
    }

    public string Address { get; }

    /// <summary>The PostgreSQL connection string every hub of this harness shares, or null for SQLite.</summary>
    public string? Store { get; }

    /// <summary>What agents and shells get as ISAAC_HUB. The default is <see cref="Address"/>; a comma list for failover.</summary>
    public string AgentHubs { get; set; } = "";

    /// <summary>The address of hub <paramref name="index"/> (0 is <see cref="Address"/>), on a free loopback port.</summary>
    public string AddressOf(int index)
    {
        while (_addresses.Count <= index)
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            _addresses.Add($"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}");
        }

        return _addresses[index];
    }

    public string HubData => _root.Combine("hub-data");

    /// <summary>The ISAAC_HOME of hub number <paramref name="index"/> (its logs are under it).</summary>
    public string HubHome(int index = 0) => _root.Combine($"hub-home-{index}");

    public string Home(string device) => _root.Combine("homes", device);

    public string Token(string device) => _tokens[device];

    /// <summary>The running hub process (null before <see cref="StartHubAsync"/>), for CPU and liveness checks.</summary>
    public Process? HubProcess => _hubs.GetValueOrDefault(0);

    private string[] StoreArguments => Store is null ? ["--data", HubData] : ["--data", HubData, "--store", Store];

    /// <summary>An HTTP client for the hub that authenticates as <paramref name="device"/> (or as nobody).</summary>
    public HttpClient Http(string? device = null)
    {
        var http = new HttpClient { BaseAddress = new Uri(Address), Timeout = TimeSpan.FromSeconds(90) };
        if (device is not null)
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token(device));
        }

        return http;
    }

    /// <summary>A scripted agent (<see cref="ScriptedAgent"/>) connected as <paramref name="device"/>; it has not said hello yet.</summary>
    public Task<ScriptedAgent> ConnectAgentAsync(string device) => ScriptedAgent.ConnectAsync(Address, Token(device));

    /// <summary>Registers devices (before or while the hub runs) and keeps their tokens.</summary>
    public async Task AddDevicesAsync(params string[] devices)
    {
        foreach (var device in devices)
        {
            var run = await IsaacProcess.RunAsync(_root.Path, ["hub", "add-device", device, .. StoreArguments]);
            Assert.True(run.ExitCode == 0, run.ToString());
            _tokens[device] = run.Stdout.Trim();
            Directory.CreateDirectory(Home(device));
        }
    }

    /// <summary>Starts hub <paramref name="index"/> (several share the PostgreSQL store) and waits until it answers.</summary>
    public async Task StartHubAsync(int index = 0)
    {
        var address = AddressOf(index);
        _hubs[index] = StartIsaac(["hub", "--urls", address, .. StoreArguments], new Dictionary<string, string?> { ["ISAAC_HOME"] = HubHome(index) });
        using var http = new HttpClient();
        for (var i = 0; i < 200; i++)
        {
            try
            {
                if ((await http.GetAsync(address + "/health")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                await Task.Delay(50);
            }
        }

        Assert.Fail("the hub did not start");
    }

    /// <summary>SIGKILL, no goodbye.</summary>
    public void KillHub(int index = 0)
    {
        if (_hubs.GetValueOrDefault(index) is { } hub)
        {
            hub.Kill();
            hub.WaitForExit();
        }
    }

    public Process StartAgent(string device, string? fault = null, int capacity = 4)
    {
        var environment = Environment(device);
        if (fault is not null)
        {
            environment["ISAAC_AGENT_FAULT"] = fault;
        }

        return StartIsaac(["agent", "--capacity", capacity.ToString(System.Globalization.CultureInfo.InvariantCulture)], environment);
    }

    /// <summary>Starts <c>isaac -c line</c> as <paramref name="device"/> without waiting for it.</summary>
    public Process StartOnce(string device, string line) => StartIsaac(["-c", line], Environment(device));

    /// <summary>The hub's own record of every routed command (its text → its status), read straight from the hub's store.</summary>
    /// <remarks>Opened read-write so that the open never depends on the hub's WAL index files being there; it only reads.</remarks>
    public Dictionary<string, string> CommandStatuses()
    {
        if (Store is not null)
        {
            using var shared = new Npgsql.NpgsqlConnection(Store);
            shared.Open();
            using var query = new Npgsql.NpgsqlCommand("SELECT text, status FROM commands;", shared);
            using var rows = query.ExecuteReader();
            var found = new Dictionary<string, string>(StringComparer.Ordinal);
            while (rows.Read())
            {
                found[rows.GetString(0)] = rows.GetString(1);
            }

            return found;
        }

        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(HubData, "hub.db")};Mode=ReadWrite;Pooling=False;Default Timeout=10");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT text, status FROM commands;";
        using var reader = command.ExecuteReader();
        var statuses = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read())
        {
            statuses[reader.GetString(0)] = reader.GetString(1);
        }

        return statuses;
    }

    /// <summary>Lines the count command wrote on <paramref name="device"/>, in order.</summary>
    public string[] Counted(string device)
    {
        var path = Path.Combine(Home(device), "count");
        return File.Exists(path) ? File.ReadAllLines(path) : [];
    }

    /// <summary>Runs <c>isaac -c line</c> as <paramref name="device"/>.</summary>
    public Task<IsaacRun> RunAsync(string device, string line, params string[] more) =>
        IsaacProcess.RunWithEnvironmentAsync(Environment(device), ["-c", line, .. more]);

    public Dictionary<string, string?> Environment(string device) => new()
    {
        ["ISAAC_HOME"] = Home(device),
        ["ISAAC_DEVICE"] = device,
        ["ISAAC_HUB"] = AgentHubs is { Length: > 0 } hubs ? hubs : Address,
        ["ISAAC_TOKEN"] = _tokens.GetValueOrDefault(device, "isk_not-a-real-token"),
    };

    /// <summary>A user command on <paramref name="device"/>: a bash script handler.</summary>
    public void AddCommand(string device, string name, string body, int tier = 1) =>
        File.WriteAllText(TestManifests.Script(Path.Combine(Home(device), "commands"), name, body),
            TestManifests.Yaml(name, "run.sh").Replace("tier: 1", $"tier: {tier}"));

    /// <summary>Starts <c>isaac arguments…</c> with exactly <paramref name="environment"/> (plus CI=true); killed on dispose.</summary>
    public Process StartIsaac(string[] arguments, Dictionary<string, string?> environment)
    {
        var process = IsaacProcess.Start(arguments, environment);
        _processes.Add(process);
        return process;
    }

    public void Dispose()
    {
        IsaacProcess.KillAll(_processes);
        _root.Dispose();
    }
}
