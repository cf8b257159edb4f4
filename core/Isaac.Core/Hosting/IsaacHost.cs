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

/// <summary>
/// The assembled host: settings, the command catalog, the runners and the dispatcher, the queue, the hub client and
/// the sync pipeline. Its public members are what a front end (the <c>isaac</c> executable) needs, and no more:
/// the parts themselves stay internal to Core.
/// </summary>
public sealed class IsaacHost : IAsyncDisposable
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
    internal CommandCatalog Catalog { get; }
    internal Dispatcher Dispatcher { get; }

    /// <summary>The durable queue at <c>&lt;ISAAC_HOME&gt;/queue.db</c>; the file is opened on first use.</summary>
    internal CommandQueue Queue { get; }

    /// <summary>The hub client, or null when no hub is configured (ISAAC_HUB).</summary>
    internal HubClient? Hub { get; }

    /// <summary>The sync pipeline (started by the interactive shell), or null without a hub.</summary>
    internal SyncPipeline? Sync { get; }

    /// <summary>Whether the hub answers; null without a hub.</summary>
    internal ConnectivityMonitor? Connectivity { get; private init; }

    internal DeviceRouter? Router { get; private init; }

    /// <summary>The devices the hub knows; while it is away, its last answer (kept in the queue database).</summary>
    public Task<DeviceList> ListDevicesAsync(CancellationToken cancellationToken = default) =>
        Router?.ListDevicesAsync(cancellationToken) ?? Task.FromResult(new DeviceList());

    /// <summary>The arguments a command's manifest declares, in order (for completion); empty for an unknown command.</summary>
    public IReadOnlyList<(string Name, string Description, bool Required)> ArgumentsOf(string command) =>
        Catalog.Find(command)?.Manifest.Arguments.Select(a => (a.Name, a.Description, a.Required)).ToArray() ?? [];

    /// <summary>Every loaded command, in name order.</summary>
    public IReadOnlyList<CommandDescriptor> Commands => Catalog.Descriptors;

    /// <summary>Every manifest that did not load, as <c>file:line:column: rule: message</c>.</summary>
    public IReadOnlyList<string> Problems => [.. Catalog.Problems.Select(p => p.ToString())];

    /// <summary>Whether a hub is configured (ISAAC_HUB).</summary>
    public bool HasHub => Hub is not null;

    /// <summary>Set when the queue database was corrupt and has been replaced: says where the old file went.</summary>
    public string? QueueRecoveryNotice => Queue.RecoveryNotice;

    /// <summary>The queue's counts on subscribe, then each change (this process's and others').</summary>
    public IObservable<QueueStatus> QueueChanges => Queue.Changes;

    /// <summary>Each command that moves to the dead letters from now on.</summary>
    public IObservable<DeadLetter> DeadLetters => Queue.DeadLetters;

    /// <summary>Each drain that delivered something, and progress of long ones; nothing without a hub.</summary>
    public IObservable<SyncEvent> SyncEvents => Sync?.Events ?? System.Reactive.Linq.Observable.Empty<SyncEvent>();

    public Task<QueueStatus> GetQueueStatusAsync(CancellationToken cancellationToken = default) => Queue.GetStatusAsync(cancellationToken);

    /// <summary>Starts delivering the queue by itself (the interactive shell); does nothing without a hub.</summary>
    public void StartSync() => Sync?.Start();

    /// <summary>Runs one line as typed here: a meta-command, a route or a plain shell command.</summary>
    public Task<CommandResult> DispatchAsync(string line, bool interactive, int terminalWidth, string workingDirectory, CancellationToken cancellationToken = default) =>
        Dispatcher.DispatchAsync(line, Session(interactive, terminalWidth), workingDirectory, cancellationToken);

    /// <summary>Copies a plain shell line to the hub's shared history, when a hub is configured and sharing is on; other lines are not shared.</summary>
    public async Task ShareIfPlainAsync(string line, CancellationToken cancellationToken = default)
    {
        if (Hub is not null && Settings.ShareHistory && ParsedInput.Parse(line, Catalog).Kind == InputKind.Shell)
        {
            await Queue.ShareHistoryAsync(line, cancellationToken).ConfigureAwait(false);
            Sync?.HistoryKept();
        }
    }

    /// <summary>Announces routed results as they arrive (the interactive shell); null without a hub. Dispose to stop.</summary>
    public IAsyncDisposable? StartResultInbox(Action<string> announce)
    {
        if (Hub is not { } hub)
        {
            return null;
        }

        var inbox = new ResultInbox(Queue, hub, announce);
        inbox.Start();
        return inbox;
    }

    /// <summary>A full validation of the manifests under <paramref name="path"/> (or every manifest root), without the cache.</summary>
    public static async Task<ValidationReport> ValidateAsync(string? path, IsaacSettings settings, CancellationToken cancellationToken = default)
    {
        var roots = path is null ? ManifestRoots(settings) : [path];
        var catalog = await CommandCatalog.LoadAsync(new ManifestLoader(), roots, cancellationToken).ConfigureAwait(false);
        return new ValidationReport
        {
            Loaded = [.. catalog.Commands.Select(c => (c.Name, c.ManifestPath))],
            Problems = [.. catalog.Problems.Select(p => new ValidationProblem
            {
                File = p.File, Line = p.Line, Column = p.Column, Rule = p.Rule, Message = p.Message, Mapping = p.Mapping, Text = p.ToString(),
            })],
            Checked = roots.SelectMany(CommandCatalog.FindManifests).Count(),
        };
    }

    /// <summary>Built-in manifests first, then the user's own; a user command can add, never silently replace.</summary>
    internal static IReadOnlyList<string> ManifestRoots(IsaacSettings settings) => [BuiltInManifests, settings.CommandsPath];

    public static async Task<IsaacHost> StartAsync(IsaacSettings settings, ILoggerFactory? logs = null, CancellationToken cancellationToken = default)
    {
        logs ??= NullLoggerFactory.Instance;
        var cache = ManifestCache.Open(settings.ManifestCachePath);
        var catalog = await CommandCatalog.LoadAsync(new ManifestLoader(cache), ManifestRoots(settings), cancellationToken).ConfigureAwait(false);
        cache.Save();
        var plugins = new PluginCatalog();
        var queue = new CommandQueue(settings.QueuePath, QueueOptions.Default, TimeProvider.System, logger: logs.CreateLogger<CommandQueue>());
        var hub = settings.Hubs is { Length: > 0 } hubs ? new HubClient(hubs, settings.Token) : null;
        var connectivity = hub is null ? null : new ConnectivityMonitor(hub.IsAvailableAsync, settings.Connectivity, TimeProvider.System, logger: logs.CreateLogger<ConnectivityMonitor>());
        var sync = hub is null || connectivity is null ? null
            : new SyncPipeline(queue, hub, connectivity, Path.Combine(settings.Home, "sync.lock"), TimeProvider.System, logs.CreateLogger<SyncPipeline>());
        var router = new DeviceRouter(catalog, queue, hub, sync, connectivity);
        var context = new HandlerContext { Commands = catalog.LiveDescriptors, Queue = queue, Routes = router, Hub = router, Sync = sync };
        var dispatcher = new Dispatcher(catalog, new OutOfProcessRunner(), new InProcessRunner(plugins, context),
            settings.Tiers, TimeProvider.System, logs.CreateLogger<Dispatcher>());
        return new IsaacHost(settings, catalog, plugins, queue, hub, sync, dispatcher, logs) { Connectivity = connectivity, Router = router };
    }

    /// <summary>
    /// Keeps the commands current while the interactive shell runs: new, edited and deleted manifests under the
    /// manifest roots, and rebuilt plugins, are picked up without a restart. Dispose to stop watching.
    /// </summary>
    public IAsyncDisposable WatchCommands()
    {
        Directory.CreateDirectory(Settings.CommandsPath); // watched from the start, so the first command there is seen
        return new CatalogWatcher(Catalog, _plugins, ManifestRoots(Settings), _logs.CreateLogger<CatalogWatcher>());
    }

    internal SessionInfo Session(bool interactive, int terminalWidth, bool online = false) => new()
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
        if (Settings.Hubs is not [var address, .. var others] || Settings.Token is not { } token)
        {
            return null;
        }

        // The agent opens agent.db itself, once it holds the machine's agent lock: another process may be serving.
        var options = new AgentOptions { Hub = address, OtherHubs = others, Token = token, Device = Settings.Device, Home = Settings.Home, Capacity = capacity };
        return new DeviceAgent(options, Catalog,
            (text, origin, cancellationToken) => Dispatcher.DispatchAsync(text, Session(interactive: false, terminalWidth: 200, online: true) with { Origin = origin }, Settings.Home, cancellationToken),
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
