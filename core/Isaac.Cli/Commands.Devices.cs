using System.Reactive.Linq;
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
        using var logs = FileLogging.Create(settings);
        var options = new HubOptions { DataDirectory = data ?? Path.Combine(settings.Home, "hub"), Urls = urls, Store = store ?? settings.HubStore };
        await using var app = HubServer.Build(options, logs);
        var opened = app.Services.GetRequiredService<IHubStore>();
        if (opened.RecoveryNotice is { } rescued)
        {
            Console.Error.WriteLine($"isaac: warning: {rescued}");
        }

        await HubServer.StartAsync(app, options);
        var where = opened is PostgresHubStore shared ? $"state in PostgreSQL {shared.Where}" : $"data in {options.DataDirectory}";
        Console.Out.WriteLine($"Isaac hub listening on {string.Join(", ", app.Urls)} ({where}). Ctrl-C stops it.");
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
            Console.Error.WriteLine($"Device '{device}' registered{lowered}. This token is shown once; on '{device}' set ISAAC_TOKEN={token} (and ISAAC_HUB to this hub's address).");
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
        using var logs = FileLogging.Create(settings);
        await using var host = await IsaacHost.StartAsync(settings, logs);
        if (host.CreateAgent(capacity) is not { } agent)
        {
            Console.Error.WriteLine("isaac: the agent needs a hub address (ISAAC_HUB or --hub) and this device's token (ISAAC_TOKEN, from 'isaac hub add-device').");
            return 2;
        }

        using var stop = CancelOnCtrlC.Start(CancellationToken.None, alsoOnTerminate: true);
        Console.Out.WriteLine($"Agent for '{settings.Device}' serving commands routed through {settings.Hub}. Ctrl-C stops it.");

        // Shells on this machine serve the device too; only one process at a time may, so say why nothing happens.
        using var notices = agent.Notices.Subscribe(notice => Console.Error.WriteLine($"isaac: warning: {notice}"));
        using var waiting = agent.States.Where(state => state == AgentState.WaitingForLock).Take(1).Subscribe(_ =>
            Console.Out.WriteLine($"Another Isaac process on this machine (a shell or agent using {settings.Home}) is serving '{settings.Device}'; waiting to take over when it exits."));
        await agent.RunAsync(stop.Token);
        return 0;
    }
}
