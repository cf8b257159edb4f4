using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Cli;

/// <summary>
/// A start loads only what its line needs (docs/BENCHMARKS.md "Cold start"): checked on the real executable, which
/// writes the names of the assemblies it loaded to ISAAC_ASSEMBLY_LIST at exit.
/// </summary>
public sealed class StartupTests : IDisposable
{
    private static readonly string[] _neverForAPlainLine =
        ["YamlDotNet", "NJsonSchema", "System.CommandLine", "Spectre.Console", "Serilog", "McMaster.NETCore.Plugins", "System.Text.RegularExpressions", "System.Text.Json", "Isaac.LineEditor"];

    private readonly TempDir _home = new();

    public void Dispose() => _home.Dispose();

    [Fact(Timeout = 60_000)]
    public async Task A_plain_shell_line_with_a_warm_cache_loads_no_parser_logger_plugin_loader_or_regex_engine()
    {
        // Arrange
        await IsaacProcess.RunAsync(_home.Path, "-c", "true"); // fills the manifest cache

        // Act
        var (run, loaded) = await RunListingAssembliesAsync("-c", "echo hi");

        // Assert
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("hi\n", run.Stdout);
        Assert.Contains("Isaac.Core", loaded);
        Assert.Empty(loaded.Intersect(_neverForAPlainLine));
    }

    [Fact(Timeout = 60_000)]
    public async Task Help_with_a_warm_cache_loads_neither_the_manifest_validators_nor_the_command_line_parser_nor_the_logger()
    {
        // Arrange
        await IsaacProcess.RunAsync(_home.Path, "-c", "true");

        // Act
        var (run, loaded) = await RunListingAssembliesAsync("-c", "/help");

        // Assert
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("/sysinfo", run.Stdout);
        Assert.Contains("Isaac.Plugins.Help", loaded);
        Assert.Empty(loaded.Intersect(["YamlDotNet", "NJsonSchema", "System.CommandLine", "Serilog"]));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_route_queued_without_a_hub_loads_the_queue_but_not_the_manifest_validators_or_the_parser()
    {
        // Arrange
        await IsaacProcess.RunAsync(_home.Path, "-c", "true");

        // Act
        var (run, loaded) = await RunListingAssembliesAsync("-c", "!laptop2 /status");

        // Assert
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("queued", run.Stdout + run.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Microsoft.Data.Sqlite", loaded);
        Assert.Empty(loaded.Intersect(["YamlDotNet", "NJsonSchema", "System.CommandLine", "Spectre.Console"]));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_damaged_cache_is_validated_again_and_rewritten()
    {
        // Arrange
        await IsaacProcess.RunAsync(_home.Path, "-c", "true");
        var cache = _home.Combine("cache", "manifests.json");
        Assert.True(File.Exists(cache));
        await File.WriteAllBytesAsync(cache, [.. (await File.ReadAllBytesAsync(cache)).Take(100), 0xFF, 0x00]);

        // Act
        var (damaged, loadedDamaged) = await RunListingAssembliesAsync("-c", "/help");
        var (rewritten, loadedRewritten) = await RunListingAssembliesAsync("-c", "/help");

        // Assert
        Assert.True(damaged.ExitCode == 0, damaged.ToString());
        Assert.Contains("/sysinfo", damaged.Stdout);
        Assert.Contains("YamlDotNet", loadedDamaged); // validated in full
        Assert.Equal(damaged.Stdout, rewritten.Stdout);
        Assert.DoesNotContain("YamlDotNet", loadedRewritten); // served from the rewritten cache
    }

    [Fact(Timeout = 60_000)]
    public async Task A_manifest_changed_after_it_was_cached_is_read_again()
    {
        // Arrange
        var manifest = TestManifests.Script(_home.Combine("commands"), "greet", """read -r _; printf '{"status":"success","stdout":"one"}'""");
        Assert.Equal("one\n", (await IsaacProcess.RunAsync(_home.Path, "-c", "/greet")).Stdout);
        await File.WriteAllTextAsync(manifest, (await File.ReadAllTextAsync(manifest)).Replace("greet", "greet2", StringComparison.Ordinal) + "\n");

        // Act
        var renamed = await IsaacProcess.RunAsync(_home.Path, "-c", "/greet2");
        var old = await IsaacProcess.RunAsync(_home.Path, "-c", "/greet");

        // Assert
        Assert.True(renamed.ExitCode == 0, renamed.ToString());
        Assert.Equal("one\n", renamed.Stdout);
        Assert.Equal(127, old.ExitCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task Lines_the_quick_reader_does_not_take_get_the_full_parsers_answer()
    {
        // Act
        var missingValue = await IsaacProcess.RunAsync(_home.Path, "-c");
        var twice = await IsaacProcess.RunAsync(_home.Path, "-c", "true", "-c", "false");
        var help = await IsaacProcess.RunAsync(_home.Path, "--help");

        // Assert
        Assert.NotEqual(0, missingValue.ExitCode);
        Assert.NotEqual("", missingValue.Stderr);
        Assert.NotEqual(0, twice.ExitCode);
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("validate", help.Stdout);
        Assert.Contains("--command", help.Stdout);
    }

    private async Task<(IsaacRun Run, string[] Loaded)> RunListingAssembliesAsync(params string[] arguments)
    {
        var list = _home.Combine($"assemblies-{Guid.NewGuid():N}.txt");
        var run = await IsaacProcess.RunWithEnvironmentAsync(
            new Dictionary<string, string?> { ["ISAAC_HOME"] = _home.Path, ["ISAAC_DEVICE"] = "e2e-device", ["ISAAC_HUB"] = null, ["ISAAC_ASSEMBLY_LIST"] = list },
            arguments);
        return (run, await File.ReadAllLinesAsync(list));
    }
}
