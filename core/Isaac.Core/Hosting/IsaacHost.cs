using Isaac.Core.Devices;
using Isaac.Core.Dispatch;
using Isaac.Core.Execution;
using Isaac.Core.Manifests;
using Isaac.Core.Plugins;
using Isaac.Core.Queue;
using Isaac.Core.Routing;
using Isaac.Core.Sync;
using Isaac.Core.Wire;
using Isaac.Plugins;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Isaac.Core.Hosting;

/// <summary>The assembled host: settings, the command catalog, the runners and the dispatcher.</summary>
internal sealed class IsaacHost : IAsyncDisposable
{
    private readonly PluginCatalog _plugins;

    private readonly ILoggerFactory _logs;

    private IsaacHost(IsaacSettings settings, CommandCatalog catalog, PluginCatalog plugins, CommandQueue queue, HubClient? hub, SyncPipeline? sync, Dispatcher dispatcher, ILoggerFactory logs)
    {
        Sync = sync;
        Settings = settings;
        Catalog = catalog;
        _plugins = plugins;
        Queue = queue;
        Hub = hub;
        Dispatcher = dispatcher;
        _logs = logs;
    }

    /// <summary>The built-in manifests shipped next to the executable.</summary>
    public static string BuiltInManifests => Path.Combine(AppContext.BaseDirectory, "manifests");

    public IsaacSettings Settings { get; }
    public CommandCatalog Catalog { get; }
    public Dispatcher Dispatcher { get; }

    /// <summary>The durable queue at <c>&lt;ISAAC_HOME&gt;/queue.db</c>; the file is opened on first use.</summary>
    public CommandQueue Queue { get; }

    /// <summary>The hub client, or null when no hub is configured (ISAAC_HUB).</summary>
    public HubClient? Hub { get; }

    /// <summary>The sync pipeline (started by the interactive shell), or null without a hub.</summary>
    public SyncPipeline? Sync { get; }

    /// <summary>Whether the hub answers; null without a hub.</summary>
    public ConnectivityMonitor? Connectivity { get; private init; }

    /// <summary>Built-in manifests first, then the user's own; a user command can add, never silently replace.</summary>
    public static IReadOnlyList<string> ManifestRoots(IsaacSettings settings) => [BuiltInManifests, settings.CommandsPath];

    public static async Task<IsaacHost> StartAsync(IsaacSettings settings, ILoggerFactory? logs = null, CancellationToken cancellationToken = default)
    {
        logs ??= NullLoggerFactory.Instance;
        var cache = ManifestCache.Open(settings.ManifestCachePath);
        var catalog = await CommandCatalog.LoadAsync(new ManifestLoader(cache), ManifestRoots(settings), cancellationToken).ConfigureAwait(false);
        cache.Save();
        var plugins = new PluginCatalog();
        var queue = new CommandQueue(settings.QueuePath, QueueOptions.Default, TimeProvider.System, logger: logs.CreateLogger<CommandQueue>());
        var hub = settings.Hub is { } address ? new HubClient(new Uri(address), settings.Token) : null;
        var connectivity = hub is null ? null : new ConnectivityMonitor(hub.IsAvailableAsync, settings.Connectivity, TimeProvider.System, logger: logs.CreateLogger<ConnectivityMonitor>());
        var sync = hub is null || connectivity is null ? null
            : new SyncPipeline(queue, hub, connectivity, Path.Combine(settings.Home, "sync.lock"), TimeProvider.System, logs.CreateLogger<SyncPipeline>());
        var router = new DeviceRouter(catalog, queue, hub, sync, connectivity);
        var context = new HandlerContext { Commands = catalog.Descriptors, Queue = queue, Routes = router, Hub = router, Sync = sync };
        var dispatcher = new Dispatcher(catalog, new OutOfProcessRunner(), new InProcessRunner(plugins, context),
            settings.Tiers, TimeProvider.System, logs.CreateLogger<Dispatcher>());
        return new IsaacHost(settings, catalog, plugins, queue, hub, sync, dispatcher, logs) { Connectivity = connectivity };
    }

    public SessionInfo Session(bool interactive, int terminalWidth, bool online = false) => new()
    {
        Device = Settings.Device,
        Online = online,
        Interactive = interactive,
        TerminalWidth = terminalWidth,
        IsaacHome = Settings.Home,
    };

    /// <summary>
    /// The agent that serves commands other devices route here, or null without a hub address and token.
    /// Routed commands run with the sender as origin (the remote tier policy applies), in ISAAC_HOME.
    /// </summary>
    public DeviceAgent? CreateAgent(int capacity)
    {
        if (Settings.Hub is not { } address || Settings.Token is not { } token)
        {
            return null;
        }

        // The agent opens agent.db itself, once it holds the machine's agent lock: another process may be serving.
        var options = new AgentOptions { Hub = new Uri(address), Token = token, Device = Settings.Device, Home = Settings.Home, Capacity = capacity };
        return new DeviceAgent(options, Catalog,
            (text, sender, cancellationToken) => Dispatcher.DispatchAsync(text, Session(interactive: false, terminalWidth: 200, online: true) with { Origin = sender }, Settings.Home, cancellationToken),
            TimeProvider.System, _logs.CreateLogger<DeviceAgent>());
    }

    public async ValueTask DisposeAsync()
    {
        if (Sync is not null)
        {
            await Sync.DisposeAsync().ConfigureAwait(false);
        }

        if (Connectivity is not null)
        {
            await Connectivity.DisposeAsync().ConfigureAwait(false);
        }

        await Queue.DisposeAsync().ConfigureAwait(false);
        Hub?.Dispose();
        _plugins.Dispose();
    }
}
