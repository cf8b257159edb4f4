using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

// Also compiled into tools/Isaac.Benchmarks (linked) for the scale figures.
namespace Isaac.Core.Tests.Support;

/// <summary>
/// A private PostgreSQL cluster for the whole test run: initdb and pg_ctl from the Debian packages
/// (/usr/lib/postgresql/*/bin, or ISAAC_PG_BIN) on a free loopback port in a temp folder, started at first use and
/// stopped when the test process exits. Each test takes a database of its own (<see cref="CreateDatabase"/>).
/// No container runtime. Without the binaries, the PostgreSQL tests are skipped locally, but fail under CI=true.
/// </summary>
internal sealed class PostgresCluster
{
    private static readonly Lazy<PostgresCluster> _shared = new(() => new PostgresCluster(), LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly string _bin;
    private readonly string _root;
    private readonly string? _user;

    private PostgresCluster()
    {
        _bin = Binaries ?? throw new InvalidOperationException(SkipMessage);
        _root = Path.Combine(Path.GetTempPath(), "isaac-pg", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_root);

        // initdb and postgres refuse to run as root; the Debian package's 'postgres' user runs them then.
        _user = Environment.UserName == "root" ? "postgres" : null;
        if (_user is not null)
        {
            Run("chown", ["-R", _user, _root], asUser: false);
        }

        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();

        var data = Path.Combine(_root, "data");
        Run(Path.Combine(_bin, "initdb"), ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"]);
        Run(Path.Combine(_bin, "pg_ctl"), ["-D", data, "-l", Path.Combine(_root, "log"), "-w", "-t", "60", "start",
            "-o", $"-p {Port} -k {_root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400"]);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            Run(Path.Combine(_bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"], check: false);
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (IOException)
            {
                // the OS temp cleaner finishes
            }
        };
    }

    /// <summary>Starts the run's cluster at first use.</summary>
    public static PostgresCluster Shared => _shared.Value;

    public int Port { get; }

    /// <summary>Where initdb and pg_ctl are, or null.</summary>
    public static string? Binaries { get; } = FindBinaries();

    /// <summary>Null when the PostgreSQL tests can run (or must, under CI=true); otherwise why they are skipped.</summary>
    public static string? SkipReason => Binaries is null && Environment.GetEnvironmentVariable("CI") != "true" ? SkipMessage : null;

    private const string SkipMessage =
        "PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin or ISAAC_PG_BIN): install the 'postgresql' package to run the PostgreSQL hub tests.";

    /// <summary>A fresh, empty database; its connection string.</summary>
    public string CreateDatabase()
    {
        var name = "t_" + Guid.NewGuid().ToString("N")[..16];
        using (var admin = new NpgsqlConnection(ConnectionString("postgres")))
        {
            admin.Open();
            using var create = new NpgsqlCommand($"CREATE DATABASE {name};", admin);
            create.ExecuteNonQuery();
        }

        return ConnectionString(name);
    }

    public string ConnectionString(string database) => $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Timeout=30";

    private static string? FindBinaries()
    {
        if (Environment.GetEnvironmentVariable("ISAAC_PG_BIN") is { Length: > 0 } given && File.Exists(Path.Combine(given, "initdb")))
        {
            return given;
        }

        return Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(v => Path.Combine(v, "bin"))
                .Where(bin => File.Exists(Path.Combine(bin, "initdb")))
                .OrderByDescending(bin => int.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), out var version) ? version : 0)
                .FirstOrDefault()
            : null;
    }

    private void Run(string file, string[] arguments, bool check = true, bool asUser = true)
    {
        var start = asUser && _user is not null
            ? new ProcessStartInfo("runuser", ["-u", _user, "--", file, .. arguments])
            : new ProcessStartInfo(file, arguments);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (check && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} exited with {process.ExitCode}: {stderr} {stdout.Result}");
        }
    }
}
