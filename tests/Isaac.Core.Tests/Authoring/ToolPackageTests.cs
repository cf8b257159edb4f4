using System.IO.Compression;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Authoring;

public sealed class ToolPackageTests : IDisposable
{
    private readonly TempDir _home = new();

    public void Dispose() => _home.Dispose();

    [Fact(Timeout = 300_000)]
    public async Task The_packed_tool_installs_offline_and_runs_help_a_script_command_and_the_demo()
    {
        // Arrange
        await ToolPackage.IsaacAsync();

        // Act
        var help = await ToolPackage.RunIsaacAsync(_home.Path, "-c", "/help");
        var sysinfo = await ToolPackage.RunIsaacAsync(_home.Path, "-c", "/sysinfo");
        var demo = await ToolPackage.RunIsaacAsync(_home.Path, "demo");

        // Assert
        Assert.True(help.ExitCode == 0, help.ToString());
        Assert.Contains("/sysinfo", help.Stdout);
        Assert.Contains("/queue", help.Stdout);
        Assert.True(sysinfo.ExitCode == 0, sysinfo.ToString());
        Assert.Contains("tool-device", sysinfo.Stdout);
        Assert.True(demo.ExitCode == 0, demo.ToString());
        Assert.Contains("That was Isaac.", demo.Stdout);
    }

    [Fact(Timeout = 300_000)]
    public async Task The_tool_package_carries_manifests_plugins_schemas_templates_docs_and_the_contract_package()
    {
        // Arrange
        var packages = await ToolPackage.PackagesAsync();

        // Act
        using var tool = ZipFile.OpenRead(Assert.Single(Directory.GetFiles(packages, "isaac.*.nupkg")));
        var entries = tool.Entries.Select(e => e.FullName).ToHashSet();

        // Assert
        const string Root = "tools/net10.0/any/";
        Assert.Contains("README.md", entries);
        Assert.Contains(Root + "manifests/help/command.yaml", entries);
        Assert.Contains(Root + "manifests/help/plugin/Isaac.Plugins.Help.dll", entries);
        Assert.Contains(Root + "manifests/sysinfo/sysinfo.py", entries);
        Assert.Contains(Root + "schemas/command.schema.json", entries);
        Assert.Contains(Root + "templates/script-command/.template.config/template.json", entries);
        Assert.Contains(Root + "templates/plugin-command/.template.config/template.json", entries);
        Assert.Contains(Root + "docs/authoring.md", entries);
        Assert.Contains(entries, e => e.StartsWith(Root + "packages/Isaac.Plugins.Abstractions.", StringComparison.Ordinal));
        Assert.DoesNotContain(entries, e => e.StartsWith("content", StringComparison.Ordinal));
        Assert.Single(Directory.GetFiles(packages, "Isaac.Plugins.Abstractions.*.nupkg"));
    }
}
