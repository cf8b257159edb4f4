using Isaac.Core.Dispatch;
using Isaac.Core.Execution;
using Isaac.Core.Manifests;
using Isaac.Core.Plugins;
using Isaac.Core.Queue;
using Isaac.Plugins;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Isaac.Core.Hosting;

/// <summary>The assembled host: settings, the command catalog, the runners and the dispatcher.</summary>
internal sealed class IsaacHost : IAsyncDisposable
{
    private readonly PluginCatalog _plugins;

    private IsaacHost(IsaacSettings settings, CommandCatalog catalog, PluginCatalog plugins, CommandQueue queue, Dispatcher dispatcher)
    {
        Settings = settings;
        Catalog = catalog;
        _plugins = plugins;
        Queue = queue;
        Dispatcher = dispatcher;
    }

    /// <summary>The built-in manifests shipped next to the executable.</summary>
    public static string BuiltInManifests => Path.Combine(AppContext.BaseDirectory, "manifests");

    public IsaacSettings Settings { get; }
    public CommandCatalog Catalog { get; }
    public Dispatcher Dispatcher { get; }

    /// <summary>The durable queue at <c>&lt;ISAAC_HOME&gt;/queue.db</c>; the file is opened on first use.</summary>
    public CommandQueue Queue { get; }

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
        var context = new HandlerContext { Commands = catalog.Descriptors, Queue = queue };
        var dispatcher = new Dispatcher(catalog, new OutOfProcessRunner(), new InProcessRunner(plugins, context),
            settings.Tiers, TimeProvider.System, logs.CreateLogger<Dispatcher>());
        return new IsaacHost(settings, catalog, plugins, queue, dispatcher);
    }

    public SessionInfo Session(bool interactive, int terminalWidth, bool online = false) => new()
    {
        Device = Settings.Device,
        Online = online,
        Interactive = interactive,
        TerminalWidth = terminalWidth,
        IsaacHome = Settings.Home,
    };

    public async ValueTask DisposeAsync()
    {
        await Queue.DisposeAsync().ConfigureAwait(false);
        _plugins.Dispose();
    }
}
