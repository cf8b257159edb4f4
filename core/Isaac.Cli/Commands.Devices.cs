using Isaac.Cli.Shell;
using Isaac.Core.Devices;
using Isaac.Core.Hosting;
using Isaac.Hub;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Isaac.Cli;

// isaac hub, isaac hub add-device, isaac agent.
internal static partial class Commands
{
    public static async Task<int> HubAsync(IsaacSettings settings, string urls, string? data, string? store)
    {
        var options = new HubOptions { DataDirectory = data ?? Path.Combine(settings.Home, "hub"), Urls = urls, Store = store ?? settings.HubStore };
        if (options.Store is null)
        {
            IsaacSettings.EnsureWritable(options.DataDirectory, data is null ? "ISAAC_HOME" : "--data");
        }

        using var logs = FileLogging.Create(settings, console: true);
        await using var app = HubServer.Build(options, logs);
        var opened = app.Services.GetRequiredService<IHubStore>();
        if (opened.RecoveryNotice is { } rescued)
        {
            Console.Error.WriteLine($"isaac: warning: {rescued}");
        }

        await HubServer.StartAsync(app, options);
        var where = opened is PostgresHubStore shared ? $"state in PostgreSQL {shared.Where}" : $"data in {options.DataDirectory}";
        GlobalOptions.Say($"Isaac hub listening on {string.Join(", ", app.Urls)} ({where}). Ctrl-C stops it.");
        await app.WaitForShutdownAsync();
        return 0;
    }

    public static int AddDevice(IsaacSettings settings, string? data, string? store, string name, bool replace)
    {
        if (!DeviceName.TryNormalize(name, out var device, out var problem))
        {
            Console.Error.WriteLine($"isaac: {problem}");
            return 2;
        }

        using var hub = HubStores.Open(new HubOptions { DataDirectory = data ?? Path.Combine(settings.Home, "hub"), Store = store ?? settings.HubStore });
        try
        {
            var token = hub.AddDevice(device, replace);
            Console.Out.WriteLine(token);
            var lowered = device == name ? "" : $" (device names are case-insensitive and kept in lower case; route to it as !{device})";
            if (GlobalOptions.Verbosity != Verbosity.Quiet)
            {
                Console.Error.WriteLine($"Device '{device}' registered{lowered}. This token is shown once; on '{device}' set ISAAC_TOKEN={token} (and ISAAC_HUB to this hub's address).");
            }

            return 0;
        }
        catch (InvalidOperationException ex)
        {
            Console.Error.WriteLine($"isaac: {ex.Message}");
            return 1;
        }
    }

    /// <summary><c>isaac hub migrate</c>: the whole state of a SQLite hub into an empty PostgreSQL hub store, counts checked before commit.</summary>
    public static int MigrateHub(string from, string to)
    {
        var folder = Path.GetFileName(from) == "hub.db" ? Path.GetDirectoryName(Path.GetFullPath(from))! : from;
        if (!File.Exists(Path.Combine(folder, "hub.db")))
        {
            Console.Error.WriteLine($"isaac: there is no hub.db in '{folder}'; give --from the SQLite hub's data folder (the one 'isaac hub --data' used).");
            return 2;
        }

        using var source = new HubStore(folder);
        using var target = new PostgresHubStore(to);
        var counts = target.Import(source);
        Console.Out.WriteLine($"Moved {counts["devices"]} devices, {counts["commands"]} routed commands and {counts["history"]} history entries to {target.Where}; the counts match. Start the hubs with --store.");
        return 0;
    }

    public static async Task<int> AgentAsync(IsaacSettings settings, int capacity)
    {
        IsaacSettings.EnsureWritable(settings.Home, "ISAAC_HOME");
        using var logs = FileLogging.Create(settings, console: true);
        await using var host = await IsaacHost.StartAsync(settings, logs);
        if (host.CreateAgent(capacity) is not { } agent)
        {
            Console.Error.WriteLine("isaac: the agent needs a hub address (ISAAC_HUB or --hub) and this device's token (ISAAC_TOKEN, from 'isaac hub add-device').");
            return 2;
        }

        using var stop = CancelOnCtrlC.Start(CancellationToken.None, alsoOnTerminate: true);
        GlobalOptions.Say($"Agent for '{settings.Device}' serving commands routed through {settings.Hub}. Ctrl-C stops it.");

        // What the agent has to say (a rescued agent.db, a busy lock, a refused token) is in its log, on stderr.
        await agent.RunAsync(stop.Token);
        return agent.TokenRefused ? 1 : 0;
    }
}
