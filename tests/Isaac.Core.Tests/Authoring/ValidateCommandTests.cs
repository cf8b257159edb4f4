using System.Text.Json;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Authoring;

public sealed class ValidateCommandTests : IDisposable
{
    private readonly TempDir _home = new();

    public void Dispose() => _home.Dispose();

    [Fact(Timeout = 30_000)]
    public async Task A_path_that_does_not_exist_and_an_unknown_option_exit_2_with_one_line()
    {
        // Act
        var missing = await IsaacProcess.RunAsync(_home.Path, "validate", _home.Combine("does", "not", "exist"));
        var unknown = await IsaacProcess.RunAsync(_home.Path, "validate", "--bogus");

        // Assert
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("does not exist", missing.Stderr);
        Assert.DoesNotContain("manifest(s) checked", missing.Stdout);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("unknown option '--bogus'", unknown.Stderr);
        Assert.Single(unknown.Stderr.Trim().Split('\n'));
    }

    [Fact(Timeout = 30_000)]
    public async Task Json_reports_loaded_commands_and_problems_as_one_document()
    {
        // Arrange
        _home.Write("commands/bad/command.yaml", "version: \"1.0\"\ncommand:\n  name: bad\nruntime:\n  handler: missing.sh\n");

        // Act
        var run = await IsaacProcess.RunAsync(_home.Path, "validate", "--json");

        // Assert
        Assert.Equal(1, run.ExitCode);
        using var report = JsonDocument.Parse(run.Stdout);
        Assert.Contains(report.RootElement.GetProperty("loaded").EnumerateArray(), c => c.GetProperty("name").GetString() == "help");
        var problem = Assert.Single(report.RootElement.GetProperty("problems").EnumerateArray());
        Assert.Equal("handler-missing", problem.GetProperty("rule").GetString());
        Assert.Equal(5, problem.GetProperty("line").GetInt32());
    }

    [Fact(Timeout = 30_000)]
    public async Task A_handler_that_is_not_executable_and_a_missing_interpreter_are_flagged()
    {
        // Arrange
        _home.Write("commands/noexec/command.yaml", "version: \"1.0\"\ncommand:\n  name: noexec\nruntime:\n  handler: run.sh\n");
        _home.Write("commands/noexec/run.sh", "#!/bin/sh\necho '{\"status\":\"success\"}'\n");
        _home.Write("commands/nointerp/command.yaml", "version: \"1.0\"\ncommand:\n  name: nointerp\nruntime:\n  handler: run.py\n  interpreter: python-that-does-not-exist\n");
        _home.Write("commands/nointerp/run.py", "print('{}')\n");

        // Act
        var run = await IsaacProcess.RunAsync(_home.Path, "validate", _home.Combine("commands"));

        // Assert
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("noexec/command.yaml:5:3: handler-not-executable: handler 'run.sh' is not executable", run.Stdout);
        Assert.Contains("nointerp/command.yaml:6:3: interpreter-missing: interpreter 'python-that-does-not-exist' was not found", run.Stdout);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_manifest_in_the_other_shape_gets_one_problem_and_the_field_by_field_mapping()
    {
        // Arrange
        _home.Write("commands/hi/command.yaml", """
            name: hi
            summary: Say hello
            triggers: ["/hi"]
            runtime:
              entry: hi.py
              interpreter: python3
            """);

        // Act
        var text = await IsaacProcess.RunAsync(_home.Path, "validate", _home.Combine("commands", "hi"));
        var json = await IsaacProcess.RunAsync(_home.Path, "validate", "--json", _home.Combine("commands", "hi"));

        // Assert
        Assert.Equal(1, text.ExitCode);
        Assert.Contains("other-shape: this manifest is in the other shape", text.Stdout);
        Assert.DoesNotContain("not a known key", text.Stdout);
        Assert.Contains("name: hi -> command.name: hi", text.Stdout);
        Assert.Contains("summary: ... -> command.description: Say hello", text.Stdout);
        Assert.Contains("triggers: [\"/hi\"] -> triggers: [{prefix: \"/\", pattern: \"^hi(\\\\s+(.*))?$\", capture: args}]", text.Stdout);
        Assert.Contains("runtime.entry: hi.py -> runtime.handler: hi.py", text.Stdout);
        Assert.Contains("runtime.interpreter: python3 -> runtime.interpreter: python3", text.Stdout);
        Assert.Contains("{\"ok\": true, \"kind\": \"text\", \"stdout\": ...} -> {\"status\": \"success\"", text.Stdout);
        Assert.Contains("1 problem(s)", text.Stdout);
        using var report = JsonDocument.Parse(json.Stdout);
        var problem = Assert.Single(report.RootElement.GetProperty("problems").EnumerateArray());
        Assert.Equal("other-shape", problem.GetProperty("rule").GetString());
        Assert.Equal(7, problem.GetProperty("mapping").GetArrayLength());
    }
}
