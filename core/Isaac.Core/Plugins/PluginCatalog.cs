using System.Collections.Concurrent;
using System.Reflection;
using Isaac.Core.Execution;
using Isaac.Core.Manifests;
using Isaac.Plugins;
using McMaster.NETCore.Plugins;

namespace Isaac.Core.Plugins;

/// <summary>
/// Loads plugin assemblies lazily, each into its own load context that shares only the contract assembly
/// with the host. All use of McMaster.NETCore.Plugins stays behind this class.
/// </summary>
internal sealed class PluginCatalog : IDisposable
{
    private static readonly AssemblyName _contract = typeof(ICommandHandler).Assembly.GetName();

    /// <summary>How many full collections an unloaded plugin's load context gets to disappear before it is called leaked.</summary>
    private const int UnloadCollections = 10;

    // Typed IDisposable, not PluginLoader, so that a start that runs no plugin never loads McMaster.NETCore.Plugins.
    private readonly ConcurrentDictionary<string, IDisposable> _loaders = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Loaded> _handlers = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _leaks = new();

    /// <summary>One message per plugin whose old load context stayed alive after it was unloaded (see <see cref="Refresh"/>).</summary>
    public IReadOnlyCollection<string> Leaks => _leaks;

    /// <summary>The handler for <paramref name="command"/>, loading its plugin on first use.</summary>
    public ICommandHandler GetHandler(LoadedCommand command) =>
        _handlers.GetOrAdd(command.Name, _ => new Loaded(command.HandlerPath, Stamp(command.HandlerPath), new Lazy<ICommandHandler>(() => Create(command)))).Handler.Value;

    /// <summary>Whether the plugin of <paramref name="command"/> has been loaded (plugins load on first use).</summary>
    public bool IsLoaded(LoadedCommand command) => _handlers.TryGetValue(command.Name, out var loaded) && loaded.Handler.IsValueCreated;

    /// <summary>
    /// After a reload of the manifests: unloads each plugin whose command is gone, points elsewhere or whose assembly
    /// was rebuilt (the next run loads it afresh), then checks that the unloaded load contexts were collected.
    /// Returns the leaks found, each naming its plugin; they are also kept in <see cref="Leaks"/>.
    /// </summary>
    public IReadOnlyList<string> Refresh(IReadOnlyList<LoadedCommand> commands)
    {
        var unloaded = UnloadStale(commands);
        for (var i = 0; i < UnloadCollections && unloaded.Any(u => u.Context.IsAlive); i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        var leaks = unloaded.Where(u => u.Context.IsAlive).Select(u => PluginLoadException.Leaked(u.Name, u.Path, UnloadCollections)).ToList();
        foreach (var leak in leaks)
        {
            _leaks.Enqueue(leak);
        }

        return leaks;
    }

    // Not inlined, so that no local of this frame keeps an unloaded plugin alive while Refresh collects.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private List<(string Name, string Path, WeakReference Context)> UnloadStale(IReadOnlyList<LoadedCommand> commands)
    {
        var unloaded = new List<(string, string, WeakReference)>();
        foreach (var (name, loaded) in _handlers)
        {
            var now = commands.FirstOrDefault(c => c.Name == name);
            if (now is not null && now.HandlerPath == loaded.Path && Stamp(loaded.Path) == loaded.Stamp)
            {
                continue;
            }

            _handlers.TryRemove(name, out _);
            if (_loaders.TryRemove(loaded.Path, out var loader))
            {
                var context = new WeakReference(((PluginLoader)loader).LoadContext);
                loader.Dispose();
                unloaded.Add((name, loaded.Path, context));
            }
        }

        return unloaded;
    }

    private static (long, long) Stamp(string path)
    {
        var file = new FileInfo(path);
        return file.Exists ? (file.Length, file.LastWriteTimeUtc.Ticks) : (-1, -1);
    }

    /// <summary>Whether a plugin built against <paramref name="plugin"/> can run on contract <paramref name="host"/>.</summary>
    internal static bool IsCompatible(Version plugin, Version host) =>
        plugin.Major == host.Major && plugin.Minor <= host.Minor;

    private ICommandHandler Create(LoadedCommand command)
    {
        ExecutableLookup.EnsureHandlerInside(command); // links may have changed since the manifest loaded
        Assembly assembly;
        try
        {
            var loader = (PluginLoader)_loaders.GetOrAdd(command.HandlerPath, path =>
                PluginLoader.CreateFromAssemblyFile(path, sharedTypes: [typeof(ICommandHandler)], config =>
                {
                    config.IsLazyLoaded = true;
                    // Collectible, and read into memory rather than mapped: a rebuilt plugin replaces the old one
                    // in a running shell (Refresh) without the build writing over a mapped file.
                    config.IsUnloadable = true;
                    config.LoadInMemory = true;
                }));
            assembly = loader.LoadDefaultAssembly();
        }
        catch (Exception ex) when (ex is IOException or BadImageFormatException or InvalidOperationException or ArgumentException)
        {
            throw PluginLoadException.CannotLoad(command, ex);
        }

        // Checked from metadata before any plugin type is resolved against the host's contract.
        var reference = assembly.GetReferencedAssemblies().FirstOrDefault(r => r.Name == _contract.Name)
            ?? throw PluginLoadException.NoContract(command);
        var hostVersion = _contract.Version ?? new Version(0, 0);
        if (!IsCompatible(reference.Version ?? new Version(0, 0), hostVersion))
        {
            throw PluginLoadException.ContractMismatch(command, reference.Version ?? new Version(0, 0), hostVersion);
        }

        Type[] candidates;
        try
        {
            candidates = assembly.GetExportedTypes()
                .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(ICommandHandler).IsAssignableFrom(t))
                .Where(t => command.Manifest.Runtime.Class is not { } name || t.FullName == name)
                .ToArray();
        }
        catch (Exception ex) when (ex is ReflectionTypeLoadException or FileNotFoundException or TypeLoadException)
        {
            throw PluginLoadException.CannotLoad(command, ex);
        }

        if (candidates.Length != 1)
        {
            throw PluginLoadException.NoHandler(command, candidates.Length == 0
                ? command.Manifest.Runtime.Class is { } name ? $"no public ICommandHandler named '{name}'" : "no public ICommandHandler"
                : $"{candidates.Length} ICommandHandler types ({string.Join(", ", candidates.Select(t => t.FullName))})");
        }

        try
        {
            return (ICommandHandler)(Activator.CreateInstance(candidates[0])
                ?? throw PluginLoadException.NoHandler(command, $"'{candidates[0].FullName}' could not be created"));
        }
        catch (Exception ex) when (ex is MissingMethodException or TargetInvocationException or MemberAccessException)
        {
            throw PluginLoadException.CannotLoad(command, ex.InnerException ?? ex);
        }
    }

    public void Dispose()
    {
        foreach (var loader in _loaders.Values)
        {
            loader.Dispose();
        }
    }

    private sealed record Loaded(string Path, (long, long) Stamp, Lazy<ICommandHandler> Handler);
}
