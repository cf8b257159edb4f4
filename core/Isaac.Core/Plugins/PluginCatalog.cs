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

    // Typed IDisposable, not PluginLoader, so that a start that runs no plugin never loads McMaster.NETCore.Plugins.
    private readonly ConcurrentDictionary<string, IDisposable> _loaders = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<ICommandHandler>> _handlers = new(StringComparer.Ordinal);

    /// <summary>The handler for <paramref name="command"/>, loading its plugin on first use.</summary>
    public ICommandHandler GetHandler(LoadedCommand command) =>
        _handlers.GetOrAdd(command.Name, _ => new Lazy<ICommandHandler>(() => Create(command))).Value;

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
                PluginLoader.CreateFromAssemblyFile(path, sharedTypes: [typeof(ICommandHandler)], config => config.IsLazyLoaded = true));
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
}
