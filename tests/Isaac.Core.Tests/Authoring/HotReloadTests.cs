using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using Isaac.Core.Manifests;
using Isaac.Core.Plugins;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Authoring;

public sealed class HotReloadTests : IDisposable
{
    private readonly TempDir _home = new();

    public void Dispose() => _home.Dispose();

    [Fact(Timeout = 90_000)]
    public async Task A_running_shell_picks_up_a_new_an_edited_and_a_deleted_manifest_without_a_restart()
    {
        // Arrange: a real shell at a real terminal
        using var tmux = TmuxSession.Start($"env -u CI ISAAC_HOME='{_home.Path}' ISAAC_DEVICE=tty-device '{Fixtures.IsaacExe}'; echo \"ISAAC EXITED $?\"; sleep 60");
        await tmux.WaitForAsync("isaac>");
        var commands = _home.Combine("commands");

        // Act + Assert: each change shows at the prompt that was already running
        TestManifests.Script(commands, "greet", """read -r _; printf '{"status":"success","stdout":"greet-v1"}'""");
        await RetypeUntilAsync(tmux, "/greet", "greet-v1");

        TestManifests.Script(commands, "greet", """read -r _; printf '{"status":"success","stdout":"greet-v2"}'""");
        await RetypeUntilAsync(tmux, "/greet", "greet-v2");

        Directory.Delete(Path.Combine(commands, "greet"), recursive: true);
        await RetypeUntilAsync(tmux, "/greet", "Unknown command '/greet'");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_rebuilt_plugin_is_loaded_afresh_and_its_old_load_context_is_released()
    {
        // Arrange
        var root = _home.Combine("commands");
        TestManifests.Plugin(root, "ver", "VersionHandler");
        var catalog = await TestManifests.CatalogAsync(root);
        var plugins = new PluginCatalog();
        await using var watcher = new CatalogWatcher(catalog, plugins, [root]);
        var old = LoadContextOf(plugins, catalog, "ver");

        // Act: "rebuild" the plugin (new bytes on disk, a new time)
        Rebuild(root, "ver");
        await WaitUntilAsync(() => !old.IsAlive, "the old load context to be collected");
        var fresh = LoadContextOf(plugins, catalog, "ver");

        // Assert
        Assert.True(fresh.IsAlive);
        Assert.Empty(plugins.Leaks);
        plugins.Dispose();
    }

    [Fact(Timeout = 60_000)]
    public async Task A_plugin_that_keeps_its_old_load_context_alive_is_reported_by_name()
    {
        // Arrange
        var root = _home.Combine("commands");
        TestManifests.Plugin(root, "leaky", "LeakyHandler");
        var catalog = await TestManifests.CatalogAsync(root);
        var plugins = new PluginCatalog();
        await using var watcher = new CatalogWatcher(catalog, plugins, [root]);
        LoadContextOf(plugins, catalog, "leaky");

        // Act
        Rebuild(root, "leaky");
        await WaitUntilAsync(() => plugins.Leaks.Count > 0, "a leak to be reported");

        // Assert
        var leak = Assert.Single(plugins.Leaks);
        Assert.Contains("Plugin 'Isaac.Tests.Plugin.dll' of command 'leaky' leaked", leak);
        plugins.Dispose();
    }

    // Not inlined: nothing of the plugin may stay in the test's own frame (a debug build keeps locals alive).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference LoadContextOf(PluginCatalog plugins, CommandCatalog catalog, string name)
    {
        var handler = plugins.GetHandler(catalog.Find(name) ?? throw new InvalidOperationException($"'{name}' is not loaded"));
        return new WeakReference(AssemblyLoadContext.GetLoadContext(handler.GetType().Assembly));
    }

    private static void Rebuild(string root, string name)
    {
        var dll = Path.Combine(root, name, "plugin", "Isaac.Tests.Plugin.dll");
        File.Copy(Fixtures.TestPlugin, dll, overwrite: true);
        File.SetLastWriteTimeUtc(dll, DateTime.UtcNow.AddMinutes(1));
    }

    private static async Task WaitUntilAsync(Func<bool> done, string what)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            if (done())
            {
                return;
            }

            Assert.False(timeout.IsCancellationRequested, $"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }

    // The watcher reloads once the files are quiet; typing the line again until its answer shows waits for exactly that.
    private static async Task RetypeUntilAsync(TmuxSession tmux, string line, string expected)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            tmux.Type(line);
            tmux.SendKeys("Enter");
            try
            {
                // Only what the last typed line printed counts (earlier answers stay on the screen).
                await tmux.WaitForAsync(screen => screen.LastIndexOf($"> {line}", StringComparison.Ordinal) is var at and >= 0
                    && screen[at..].Contains(expected, StringComparison.Ordinal), expected, timeoutMs: 2_000);
                return;
            }
            catch (Exception) when (!timeout.IsCancellationRequested)
            {
                // Not reloaded yet: type it again.
            }
        }
    }
}
