using Isaac.Core.Manifests;

namespace Isaac.Core.Plugins;

/// <summary>A plugin assembly that could not be loaded or does not fit this host. Every message is built here.</summary>
internal sealed class PluginLoadException : IsaacException
{
    private PluginLoadException(string command, string message, Exception? inner = null)
        : base(message, inner) => Command = command;

    public string Command { get; }

    internal static PluginLoadException CannotLoad(LoadedCommand command, Exception inner) => new(command.Name,
        $"Command '{command.Name}' is unavailable: plugin '{command.HandlerPath}' could not be loaded ({inner.GetType().Name}: {inner.Message}). Rebuild the plugin or fix runtime.handler in {command.ManifestPath}.",
        inner);

    internal static PluginLoadException NoContract(LoadedCommand command) => new(command.Name,
        $"Command '{command.Name}' is unavailable: plugin '{command.HandlerPath}' does not reference Isaac.Plugins.Abstractions, so it cannot implement ICommandHandler.");

    internal static PluginLoadException ContractMismatch(LoadedCommand command, Version plugin, Version host) => new(command.Name,
        $"Command '{command.Name}' is unavailable: plugin '{Path.GetFileName(command.HandlerPath)}' was built against plugin contract {plugin.ToString(2)}, " +
        $"but this Isaac provides contract {host.ToString(2)}. Rebuild the plugin against Isaac.Plugins.Abstractions {host.Major}.x (at most {host.ToString(2)}).");

    internal static PluginLoadException NoHandler(LoadedCommand command, string detail) => new(command.Name,
        $"Command '{command.Name}' is unavailable: {detail} in plugin '{Path.GetFileName(command.HandlerPath)}'. Set runtime.class in {command.ManifestPath} to the full name of one public ICommandHandler with a parameterless constructor.");

    /// <summary>Not thrown: said (logged, kept in <see cref="PluginCatalog.Leaks"/>) when an unloaded plugin's load context outlives it.</summary>
    internal static string Leaked(string command, string path, int collections) =>
        $"Plugin '{Path.GetFileName(path)}' of command '{command}' leaked: its old load context is still alive after unloading and {collections} full collections " +
        "(something such as a static event handler, a timer or a thread still references it). The new build is used; restart the shell to free the old one.";
}
