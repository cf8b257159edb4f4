using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Manifests;

public sealed class CommandCatalogTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task One_bad_manifest_never_stops_the_others()
    {
        // Arrange
        TestManifests.Script(_dir.Path, "alpha", "echo '{}'");
        _dir.Write("broken/command.yaml", "this: [is not");
        TestManifests.Script(_dir.Path, "gamma", "echo '{}'");

        // Act
        var catalog = await TestManifests.CatalogAsync(_dir.Path);

        // Assert
        Assert.Equal(["alpha", "gamma"], catalog.Commands.Select(c => c.Name));
        var problem = Assert.Single(catalog.Problems);
        Assert.EndsWith("broken/command.yaml", problem.File);
    }

    [Fact]
    public async Task A_repeated_name_keeps_the_first_root_and_reports_the_other()
    {
        using var user = new TempDir();
        TestManifests.Script(_dir.Path, "deploy", "echo '{}'");
        TestManifests.Script(user.Path, "deploy", "echo '{}'");

        var catalog = await TestManifests.CatalogAsync(_dir.Path, user.Path);

        var command = Assert.Single(catalog.Commands);
        Assert.StartsWith(_dir.Path, command.ManifestPath);
        var problem = Assert.Single(catalog.Problems);
        Assert.Equal("duplicate-name", problem.Rule);
        Assert.StartsWith(user.Path, problem.File);
        Assert.Contains(command.ManifestPath, problem.Message);
    }

    [Fact]
    public async Task Overlapping_triggers_are_reported_and_the_earlier_command_wins()
    {
        TestManifests.Script(_dir.Path, "queue", "echo '{}'");
        _dir.Write("q/run.sh", "#!/bin/sh\n");
        _dir.Write("q/command.yaml", """
            version: "1.0"
            command:
              name: q
            triggers:
              - pattern: "^q.*$"
            runtime:
              handler: run.sh
              interpreter: sh
            """);

        var catalog = await TestManifests.CatalogAsync(_dir.Path);

        Assert.Equal(2, catalog.Commands.Count);
        var problem = Assert.Single(catalog.Problems);
        Assert.Equal("overlapping-trigger", problem.Rule);
        Assert.Contains("'queue'", problem.Message);
        Assert.Equal("q", catalog.Match("/q")!.Command.Name);
        Assert.Equal("q", catalog.Match("/queue")!.Command.Name);
    }

    [Fact]
    public async Task Disjoint_triggers_are_not_reported()
    {
        TestManifests.Script(_dir.Path, "queue", "echo '{}'");
        TestManifests.Script(_dir.Path, "sync", "echo '{}'");

        var catalog = await TestManifests.CatalogAsync(_dir.Path);

        Assert.Empty(catalog.Problems);
    }

    [Fact]
    public async Task Every_built_in_manifest_is_valid()
    {
        var builtIn = Path.Combine(Path.GetDirectoryName(Fixtures.IsaacExe)!, "manifests");

        var catalog = await TestManifests.CatalogAsync(builtIn);

        Assert.Empty(catalog.Problems);
        Assert.Contains(catalog.Commands, c => c.Name == "help" && c.Kind == Core.Manifests.HandlerKind.Plugin);
        Assert.Contains(catalog.Commands, c => c.Name == "sysinfo" && c.Kind == Core.Manifests.HandlerKind.Script);
    }
}
