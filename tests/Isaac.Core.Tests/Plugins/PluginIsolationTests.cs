using System.Runtime.Loader;
using Isaac.Core.Dispatch;
using Isaac.Core.Execution;
using Isaac.Core.Plugins;
using Isaac.Core.Tests.Support;
using Isaac.Plugins;

namespace Isaac.Core.Tests.Plugins;

public sealed class PluginIsolationTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly PluginCatalog _plugins = new();

    public void Dispose()
    {
        _plugins.Dispose();
        _dir.Dispose();
    }

    private InProcessRunner Runner() => new(_plugins, new HandlerContext());

    [Fact(Timeout = 15_000)]
    public async Task A_plugin_that_ships_another_version_of_a_host_dependency_loads_and_uses_its_own()
    {
        // Arrange: the host carries Newtonsoft.Json 13 (through NJsonSchema); the plugin ships 12.
        var command = await TestManifests.LoadAsync(TestManifests.Plugin(_dir.Path, "version", "VersionHandler"));
        var hostVersion = typeof(Newtonsoft.Json.JsonConvert).Assembly.GetName().Version!;

        // Act
        var response = await Runner().RunAsync(command, Some.Request(command, "a b"));

        // Assert
        Assert.Equal(13, hostVersion.Major);
        Assert.Equal("12.0.0.0", response.Meta["newtonsoft"]);
        Assert.Equal("""{"Command":"version","Args":["a","b"]}""", response.Stdout);
    }

    [Fact(Timeout = 15_000)]
    public async Task The_plugin_assembly_is_loaded_lazily_on_first_use_and_only_once()
    {
        var command = await TestManifests.LoadAsync(TestManifests.Plugin(_dir.Path, "version", "VersionHandler"));
        // Plugins are read into memory (a rebuild may overwrite the file), so their assemblies have no Location.
        var before = _plugins.IsLoaded(command);
        var first = _plugins.GetHandler(command);
        var second = _plugins.GetHandler(command);

        Assert.False(before);
        Assert.True(_plugins.IsLoaded(command));
        Assert.Same(first, second);
        var context = AssemblyLoadContext.GetLoadContext(first.GetType().Assembly);
        Assert.NotSame(AssemblyLoadContext.Default, context);
        Assert.Single(context!.Assemblies, a => a.GetName().Name == "Isaac.Tests.Plugin");
    }

    [Fact(Timeout = 15_000)]
    public async Task A_plugin_that_throws_is_reported_and_the_next_command_still_runs()
    {
        var throwing = await TestManifests.LoadAsync(TestManifests.Plugin(_dir.Path, "boom", "ThrowingHandler"));
        var fine = await TestManifests.LoadAsync(TestManifests.Plugin(_dir.Path, "fine", "VersionHandler"));
        var runner = Runner();

        var ex = await Assert.ThrowsAsync<HandlerException>(() => runner.RunAsync(throwing, Some.Request(throwing)));
        var response = await runner.RunAsync(fine, Some.Request(fine));

        Assert.Equal(ErrorCode.HandlerFailed, ex.Failure);
        Assert.Contains("InvalidOperationException: the plugin broke on purpose", ex.Message);
        Assert.Equal("success", response.Status);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_plugin_that_ignores_its_token_is_abandoned_at_the_timeout()
    {
        var command = await TestManifests.LoadAsync(TestManifests.Plugin(_dir.Path, "stubborn", "StubbornHandler", timeoutMs: 300));

        var ex = await Assert.ThrowsAsync<HandlerException>(() => Runner().RunAsync(command, Some.Request(command)));

        Assert.Equal(ErrorCode.Timeout, ex.Failure);
        Assert.Contains("300 ms", ex.Message);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_plugin_response_over_the_stdout_cap_is_truncated()
    {
        var command = await TestManifests.LoadAsync(TestManifests.Plugin(_dir.Path, "flood", "FloodHandler", maxStdoutKib: 4));

        var ex = await Assert.ThrowsAsync<HandlerException>(() => Runner().RunAsync(command, Some.Request(command)));

        Assert.Equal(ErrorCode.OutputTruncated, ex.Failure);
        Assert.Equal(4096, ex.PartialStdout.Length);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_corrupt_plugin_assembly_gives_an_actionable_error()
    {
        var command = await TestManifests.LoadAsync(TestManifests.Plugin(_dir.Path, "corrupt", "VersionHandler"));
        File.WriteAllText(command.HandlerPath, "not a PE file");

        var ex = await Assert.ThrowsAsync<PluginLoadException>(() => Runner().RunAsync(command, Some.Request(command)));

        Assert.Contains("could not be loaded", ex.Message);
        Assert.Contains("Rebuild the plugin", ex.Message);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_plugin_class_that_does_not_exist_is_named_in_the_error()
    {
        var command = await TestManifests.LoadAsync(TestManifests.Plugin(_dir.Path, "ghost", "GhostHandler"));

        var ex = await Assert.ThrowsAsync<PluginLoadException>(() => Runner().RunAsync(command, Some.Request(command)));

        Assert.Contains("no public ICommandHandler named 'Isaac.Tests.Plugin.GhostHandler'", ex.Message);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_plugin_built_against_another_contract_major_version_is_refused_with_what_to_rebuild_against()
    {
        // Arrange: a real plugin compiled against a contract 2.0 assembly.
        var folder = Path.Combine(_dir.Path, "future", "plugin");
        Directory.CreateDirectory(folder);
        File.Copy(Fixtures.FuturePlugin, Path.Combine(folder, "Isaac.Tests.FuturePlugin.dll"));
        var command = await TestManifests.LoadAsync(_dir.Write("future/command.yaml", TestManifests.Yaml("future", "plugin/Isaac.Tests.FuturePlugin.dll")));

        // Act
        var ex = await Assert.ThrowsAsync<PluginLoadException>(() => Runner().RunAsync(command, Some.Request(command)));

        // Assert
        var host = typeof(ICommandHandler).Assembly.GetName().Version!;
        Assert.Equal($"Command 'future' is unavailable: plugin 'Isaac.Tests.FuturePlugin.dll' was built against plugin contract 2.0, but this Isaac provides contract {host.ToString(2)}. Rebuild the plugin against Isaac.Plugins.Abstractions {host.Major}.x (at most {host.ToString(2)}).", ex.Message);
    }

    [Theory]
    [InlineData("1.0", "1.0", true)]
    [InlineData("1.0", "1.3", true)]
    [InlineData("1.4", "1.3", false)]
    [InlineData("2.0", "1.3", false)]
    [InlineData("0.9", "1.0", false)]
    public void Contract_versions_are_compatible_within_a_major_version_up_to_the_hosts_minor(string plugin, string host, bool compatible) =>
        Assert.Equal(compatible, PluginCatalog.IsCompatible(Version.Parse(plugin), Version.Parse(host)));

    [Fact]
    public void A_contract_mismatch_message_tells_the_user_what_to_rebuild_against()
    {
        var command = new Core.Manifests.LoadedCommand
        {
            Manifest = new Core.Manifests.CommandManifest
            {
                Version = "1.0",
                Command = new Core.Manifests.CommandInfo { Name = "future" },
                Runtime = new Core.Manifests.RuntimeSpec { Handler = "plugin/Future.dll" },
            },
            ManifestPath = "/x/future/command.yaml",
            HandlerPath = "/x/future/plugin/Future.dll",
            Kind = Core.Manifests.HandlerKind.Plugin,
            Triggers = [],
        };

        var ex = PluginLoadException.ContractMismatch(command, new Version(2, 0), new Version(1, 0));

        Assert.Equal("Command 'future' is unavailable: plugin 'Future.dll' was built against plugin contract 2.0, but this Isaac provides contract 1.0. Rebuild the plugin against Isaac.Plugins.Abstractions 1.x (at most 1.0).", ex.Message);
    }
}
