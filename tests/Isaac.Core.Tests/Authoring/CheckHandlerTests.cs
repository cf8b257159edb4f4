using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Authoring;

public sealed class CheckHandlerTests : IDisposable
{
    // A well-behaved handler in python; each broken one below differs from it in one way.
    private const string Good = """
        import json, sys
        try:
            request = json.load(sys.stdin)
            print(json.dumps({"status": "success", "stdout": "hi " + request["command"] + "\n"}))
        except Exception as error:
            print(json.dumps({"status": "error", "stderr": str(error)}))
        """;

    private readonly TempDir _home = new();

    public void Dispose() => _home.Dispose();

    [Fact(Timeout = 60_000)]
    public async Task A_handler_that_follows_the_protocol_passes_every_rule()
    {
        // Arrange
        var folder = Command("good", Good);

        // Act
        var run = await IsaacProcess.RunAsync(_home.Path, "check-handler", folder);

        // Assert
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("All 7 rules passed.", run.Stdout);
        Assert.DoesNotContain("FAIL", run.Stdout);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("valid-request", "import sys\nsys.stdin.read()\nsys.exit(3)\n", "")]
    [InlineData("response-schema", "import sys\nsys.stdin.read()\nprint('{\"status\": \"fine\", \"stdout\": 5}')\n", "")]
    [InlineData("protocol-version", "import sys\nsys.stdin.read()\nprint('{\"protocol_version\": 2, \"status\": \"success\"}')\n", "")]
    [InlineData("timeout", "import sys, time\nsys.stdin.read()\ntime.sleep(30)\n", "  timeout_ms: 500\n")]
    [InlineData("stdout-cap", "import sys, json\nsys.stdin.read()\nprint(json.dumps({'status': 'success', 'stdout': 'x' * 4096}))\n", "")]
    [InlineData("unknown-fields", "import sys, json\nr = json.load(sys.stdin)\nok = 'x_future_field' not in r\nprint(json.dumps({'status': 'success' if ok else 'error', 'stderr': 'unknown key'}))\n", "")]
    [InlineData("errors-in-envelope", "import sys, json\nr = json.load(sys.stdin)\nprint(json.dumps({'status': 'success'}))\n", "")]
    public async Task A_handler_broken_in_one_way_fails_that_rule_with_a_hint(string rule, string script, string runtime)
    {
        // Arrange
        var folder = Command("broken", script, runtime, maxStdoutKib: rule == "stdout-cap" ? 1 : 64);

        // Act
        var run = await IsaacProcess.RunAsync(_home.Path, "check-handler", folder);

        // Assert
        Assert.Equal(1, run.ExitCode);
        var line = Assert.Single(run.Stdout.Split('\n'), l => l.Contains($" {rule} "));
        Assert.StartsWith("FAIL", line);
        Assert.Contains("hint:", run.Stdout);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_path_that_does_not_exist_exits_2()
    {
        var run = await IsaacProcess.RunAsync(_home.Path, "check-handler", _home.Combine("nope"));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("does not exist", run.Stderr);
    }

    private string Command(string name, string script, string runtime = "", int maxStdoutKib = 64)
    {
        _home.Write($"{name}/run.py", script);
        _home.Write($"{name}/command.yaml", $"""
            version: "1.0"
            command:
              name: {name}
            runtime:
              handler: run.py
              interpreter: python3
            {runtime}security:
              resources:
                max_stdout_kib: {maxStdoutKib}
            """);
        return _home.Combine(name);
    }
}
