using Isaac.Core.Manifests;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Manifests;

public sealed class ManifestValidationTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<ManifestProblem> SingleProblemAsync(string yaml, string? handler = "run.sh")
    {
        if (handler is not null)
        {
            _dir.Write($"cmd/{handler}", "#!/bin/sh\n");
        }

        var path = _dir.Write("cmd/command.yaml", yaml);
        var loader = new ManifestLoader();

        var result = await loader.LoadAsync(path);

        Assert.Null(result.Command);
        var problem = Assert.Single(result.Problems);
        Assert.Equal(path, problem.File);
        return problem;
    }

    [Fact]
    public async Task A_valid_manifest_loads_with_defaults_filled_in()
    {
        // Arrange
        _dir.Write("hello/run.sh", "#!/bin/sh\n");
        var path = _dir.Write("hello/command.yaml", """
            version: "1.0"
            command:
              name: hello
            runtime:
              handler: run.sh
            """);

        // Act
        var command = await TestManifests.LoadAsync(path);

        // Assert
        Assert.Equal("hello", command.Name);
        Assert.Equal(HandlerKind.Script, command.Kind);
        Assert.Equal(5_000, command.Manifest.Runtime.TimeoutMs);
        Assert.Equal(1, command.Manifest.Security.Tier);
        Assert.Equal(_dir.Combine("hello", "run.sh"), command.HandlerPath);
        Assert.Equal("/hello", command.ToDescriptor().Usage);
    }

    [Fact]
    public async Task The_original_specification_example_is_valid()
    {
        _dir.Write("queue/run.py", "print('{}')\n");
        var path = _dir.Write("queue/command.yaml", """
            version: "1.0"
            command:
              name: queue
              description: "View queued commands awaiting sync"
              category: "system"
            triggers:
              - prefix: "/"
                pattern: "^queue(\\s+(.*))?$"
                capture: "args"
            arguments: []
            runtime:
              handler: "run.py"
              timeout_ms: 2000
              stdin: false
            security:
              tier: 1
              resources:
                max_stdout_kib: 10
            """);

        var command = await TestManifests.LoadAsync(path);

        Assert.Equal(2000, command.Manifest.Runtime.TimeoutMs);
        Assert.False(command.Manifest.Runtime.Stdin);
        Assert.Equal(10, command.Manifest.Security.Resources.MaxStdoutKib);
    }

    [Fact]
    public async Task Broken_yaml_is_reported_with_line_and_column()
    {
        var problem = await SingleProblemAsync("version: \"1.0\"\ncommand:\n  name: [unclosed\nruntime:\n  handler: run.sh\n");

        Assert.Equal("yaml", problem.Rule);
        Assert.Equal(3, problem.Line);
    }

    [Fact]
    public async Task A_missing_required_key_names_the_key_and_points_at_its_parent()
    {
        var problem = await SingleProblemAsync("""
            version: "1.0"
            command:
              name: nohandler
            runtime:
              timeout_ms: 100
            """);

        Assert.Equal("schema:property-required", problem.Rule);
        Assert.Contains("'runtime.handler' is required", problem.Message);
        Assert.Equal((4, 1), (problem.Line, problem.Column));
    }

    [Fact]
    public async Task An_unknown_key_is_reported_as_a_likely_typo_at_its_line()
    {
        var problem = await SingleProblemAsync("""
            version: "1.0"
            command:
              name: typo
            runtime:
              handler: run.sh
              timeout: 100
            """);

        Assert.Equal("schema:no-additional-properties-allowed", problem.Rule);
        Assert.Contains("'runtime.timeout' is not a known key", problem.Message);
        Assert.Equal((6, 3), (problem.Line, problem.Column));
    }

    [Fact]
    public async Task A_value_of_the_wrong_type_is_reported()
    {
        var problem = await SingleProblemAsync("""
            version: "1.0"
            command:
              name: wrongtype
            runtime:
              handler: run.sh
              timeout_ms: soon
            """);

        Assert.StartsWith("schema:", problem.Rule);
        Assert.Contains("runtime.timeout_ms", problem.Message);
        Assert.Equal(6, problem.Line);
    }

    [Fact]
    public async Task An_unquoted_version_number_is_not_the_string_the_schema_wants()
    {
        _dir.Write("cmd/run.sh", "#!/bin/sh\n");
        var path = _dir.Write("cmd/command.yaml", "version: 1.0\ncommand:\n  name: v\nruntime:\n  handler: run.sh\n");
        var loader = new ManifestLoader();

        var result = await loader.LoadAsync(path);

        Assert.Null(result.Command);
        Assert.Contains(result.Problems, p => p.Rule == "schema:string-expected" && p.Message.Contains("'version'") && p.Line == 1);
    }

    [Fact]
    public async Task A_command_name_with_capitals_breaks_the_name_rule()
    {
        var problem = await SingleProblemAsync("version: \"1.0\"\ncommand:\n  name: Deploy\nruntime:\n  handler: run.sh\n");

        Assert.Equal("schema:pattern-mismatch", problem.Rule);
        Assert.Equal(3, problem.Line);
    }

    [Fact]
    public async Task A_tier_outside_one_to_three_is_refused()
    {
        var problem = await SingleProblemAsync("version: \"1.0\"\ncommand:\n  name: t\nruntime:\n  handler: run.sh\nsecurity:\n  tier: 7\n");

        Assert.Contains("security.tier", problem.Message);
    }

    [Fact]
    public async Task A_handler_path_that_leaves_the_manifest_folder_is_refused()
    {
        _dir.Write("outside.sh", "#!/bin/sh\n");

        var problem = await SingleProblemAsync("version: \"1.0\"\ncommand:\n  name: escape\nruntime:\n  handler: ../outside.sh\n", handler: null);

        Assert.Equal("handler-path", problem.Rule);
        Assert.Contains("outside the manifest's folder", problem.Message);
        Assert.Equal(5, problem.Line);
    }

    [Fact]
    public async Task An_absolute_handler_path_elsewhere_is_refused()
    {
        var problem = await SingleProblemAsync("version: \"1.0\"\ncommand:\n  name: abs\nruntime:\n  handler: /bin/true\n", handler: null);

        Assert.Equal("handler-path", problem.Rule);
    }

    [Fact]
    public async Task A_handler_symlink_pointing_outside_the_folder_is_refused()
    {
        Directory.CreateDirectory(_dir.Combine("cmd"));
        File.CreateSymbolicLink(_dir.Combine("cmd", "run.sh"), "/bin/true");

        var problem = await SingleProblemAsync("version: \"1.0\"\ncommand:\n  name: link\nruntime:\n  handler: run.sh\n", handler: null);

        Assert.Equal("handler-path", problem.Rule);
        Assert.Contains("is a link to", problem.Message);
    }

    [Fact]
    public async Task A_missing_handler_file_is_reported()
    {
        var problem = await SingleProblemAsync("version: \"1.0\"\ncommand:\n  name: gone\nruntime:\n  handler: nothere.sh\n", handler: null);

        Assert.Equal("handler-missing", problem.Rule);
    }

    [Fact]
    public async Task An_invalid_regular_expression_is_reported_at_the_pattern()
    {
        var problem = await SingleProblemAsync("""
            version: "1.0"
            command:
              name: badregex
            triggers:
              - pattern: "^bad(["
            runtime:
              handler: run.sh
            """);

        Assert.Equal("regex", problem.Rule);
        Assert.Equal(5, problem.Line);
    }

    [Fact]
    public async Task A_capture_name_without_a_group_in_the_pattern_is_reported()
    {
        var problem = await SingleProblemAsync("""
            version: "1.0"
            command:
              name: nogroup
            triggers:
              - pattern: "^nogroup$"
                capture: args
            runtime:
              handler: run.sh
            """);

        Assert.Equal("capture", problem.Rule);
    }

    [Fact]
    public async Task A_repeated_key_is_a_yaml_error()
    {
        var problem = await SingleProblemAsync("version: \"1.0\"\ncommand:\n  name: a\n  name: b\nruntime:\n  handler: run.sh\n");

        Assert.Equal("yaml", problem.Rule);
    }
}
