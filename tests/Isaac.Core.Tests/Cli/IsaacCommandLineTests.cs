using System.Text.Json;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Cli;

public sealed class IsaacCommandLineTests : IDisposable
{
    private readonly TempDir _home = new();

    public void Dispose() => _home.Dispose();

    [Fact(Timeout = 30_000)]
    public async Task Isaac_c_help_lists_every_loaded_command_as_a_table()
    {
        var run = await IsaacProcess.RunAsync(_home.Path, "-c", "/help");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("/help", run.Stdout);
        Assert.Contains("/sysinfo", run.Stdout);
        Assert.Contains("Description", run.Stdout);
        Assert.DoesNotContain("\u001b[", run.Stdout);
    }

    [Fact(Timeout = 30_000)]
    public async Task Isaac_c_json_prints_the_raw_result()
    {
        var run = await IsaacProcess.RunAsync(_home.Path, "-c", "/sysinfo json", "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        using var result = JsonDocument.Parse(run.Stdout);
        Assert.Equal("sysinfo", result.RootElement.GetProperty("command").GetString());
        Assert.Equal("success", result.RootElement.GetProperty("status").GetString());
        Assert.Equal("e2e-device", result.RootElement.GetProperty("meta").GetProperty("device").GetString());
    }

    [Fact(Timeout = 30_000)]
    public async Task Isaac_c_exits_with_the_status_of_the_result()
    {
        var unknown = await IsaacProcess.RunAsync(_home.Path, "-c", "/nope");
        var shell = await IsaacProcess.RunAsync(_home.Path, "-c", "echo from-the-shell; exit 5");
        var json = await IsaacProcess.RunAsync(_home.Path, "-c", "/nope", "--json");

        Assert.Equal(127, unknown.ExitCode);
        Assert.Contains("NOT_FOUND", unknown.Stderr);
        Assert.Equal(5, shell.ExitCode);
        Assert.Equal("from-the-shell\n", shell.Stdout);
        Assert.Equal("NOT_FOUND", JsonDocument.Parse(json.Stdout).RootElement.GetProperty("error").GetString());
    }

    [Fact(Timeout = 30_000)]
    public async Task A_users_own_command_in_isaac_home_is_discovered_and_runs()
    {
        TestManifests.Script(_home.Combine("commands"), "greet",
            """read -r _; printf '{"status":"success","stdout":"hello from %s"}' "$ISAAC_DEVICE" """);

        var run = await IsaacProcess.RunAsync(_home.Path, "-c", "/greet");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("hello from e2e-device\n", run.Stdout);
    }

    [Fact(Timeout = 30_000)]
    public async Task Isaac_validate_lists_problems_and_exits_non_zero()
    {
        _home.Write("commands/bad/command.yaml", "version: \"1.0\"\ncommand:\n  name: bad\nruntime:\n  handler: missing.sh\n");

        var all = await IsaacProcess.RunAsync(_home.Path, "validate");
        var builtIn = await IsaacProcess.RunAsync(_home.Path, "validate", Path.Combine(Path.GetDirectoryName(Fixtures.IsaacExe)!, "manifests"));

        Assert.Equal(1, all.ExitCode);
        Assert.Contains("bad/command.yaml:5:3: handler-missing", all.Stdout);
        Assert.Contains("1 problem(s)", all.Stdout);
        Assert.Equal(0, builtIn.ExitCode);
    }

    [Fact(Timeout = 30_000)]
    public async Task Lines_piped_into_isaac_run_one_by_one_with_plain_output()
    {
        var run = await IsaacProcess.RunWithInputAsync(_home.Path, stdin: "/help sysinfo\necho piped\nexit 3\necho never\n");

        Assert.Equal(3, run.ExitCode);
        Assert.Contains("/sysinfo", run.Stdout);
        Assert.Contains("piped", run.Stdout);
        Assert.DoesNotContain("never", run.Stdout);
        Assert.DoesNotContain("isaac>", run.Stdout);
    }
}
