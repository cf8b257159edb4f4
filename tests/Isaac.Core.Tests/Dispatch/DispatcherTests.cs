using Isaac.Core.Dispatch;
using Isaac.Core.Plugins;
using Isaac.Core.Tests.Support;
using Isaac.Plugins;

namespace Isaac.Core.Tests.Dispatch;

public sealed class DispatcherTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly PluginCatalog _plugins = new();

    public void Dispose()
    {
        _plugins.Dispose();
        _dir.Dispose();
    }

    private async Task<Dispatcher> DispatcherAsync(TierPolicy? policy = null) =>
        Some.Dispatcher(await TestManifests.CatalogAsync(_dir.Path), _plugins, policy);

    [Fact(Timeout = 15_000)]
    public async Task A_meta_command_runs_its_handler_with_captures_and_bound_arguments()
    {
        // Arrange
        TestManifests.Handler(_dir.Path, "echo", "echo");
        var yaml = File.ReadAllText(_dir.Combine("echo", "command.yaml"))
            .Replace("runtime:", "arguments:\n  - name: first\n  - name: second\nruntime:");
        File.WriteAllText(_dir.Combine("echo", "command.yaml"), yaml);
        var dispatcher = await DispatcherAsync();

        // Act
        var result = await dispatcher.DispatchAsync("""/echo "hello world" 'it''s' third""", Some.Session(), _dir.Path);

        // Assert
        Assert.True(result.Succeeded, result.Stderr);
        using var request = System.Text.Json.JsonDocument.Parse(result.Stdout);
        var root = request.RootElement;
        Assert.Equal(["hello world", "its", "third"], root.GetProperty("args").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("hello world", root.GetProperty("arguments").GetProperty("first").GetString());
        Assert.Equal("its", root.GetProperty("arguments").GetProperty("second").GetString());
        Assert.Equal("\"hello world\" 'it''s' third", root.GetProperty("captures").GetProperty("args").GetString());
        Assert.Equal(_dir.Path, root.GetProperty("cwd").GetString());
    }

    [Fact(Timeout = 15_000)]
    public async Task A_missing_required_argument_is_refused_before_the_handler_runs()
    {
        TestManifests.Handler(_dir.Path, "need", "echo");
        var path = _dir.Combine("need", "command.yaml");
        File.WriteAllText(path, File.ReadAllText(path).Replace("runtime:", "arguments:\n  - name: id\n    description: the command id\n    required: true\nruntime:"));
        var dispatcher = await DispatcherAsync();

        var result = await dispatcher.DispatchAsync("/need", Some.Session(), _dir.Path);

        Assert.Equal(ErrorCode.BadArguments, result.Error);
        Assert.Equal("Command 'need' needs argument 'id' (the command id). Usage: /need <id>", result.Stderr);
        Assert.Equal(2, result.ExitCode);
    }

    [Fact(Timeout = 15_000)]
    public async Task An_unclosed_quote_is_a_bad_argument_error()
    {
        TestManifests.Handler(_dir.Path, "echo", "echo");
        var dispatcher = await DispatcherAsync();

        var result = await dispatcher.DispatchAsync("/echo 'oops", Some.Session(), _dir.Path);

        Assert.Equal(ErrorCode.BadArguments, result.Error);
    }

    [Fact(Timeout = 15_000)]
    public async Task An_unknown_meta_command_is_not_found_with_a_suggestion()
    {
        TestManifests.Handler(_dir.Path, "queue", "echo");
        var dispatcher = await DispatcherAsync();

        var result = await dispatcher.DispatchAsync("/qeueu", Some.Session(), _dir.Path);

        Assert.Equal(ErrorCode.NotFound, result.Error);
        Assert.Equal("Unknown command '/qeueu'. Did you mean '/queue'? Type /help to list commands.", result.Stderr);
        Assert.Equal(127, result.ExitCode);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_command_whose_manifest_failed_to_load_says_why_it_is_unknown()
    {
        _dir.Write("broken/command.yaml", "version: \"1.0\"\ncommand:\n  name: broken\nruntime:\n  handler: gone.sh\n");
        var dispatcher = await DispatcherAsync();

        var result = await dispatcher.DispatchAsync("/broken", Some.Session(), _dir.Path);

        Assert.Equal(ErrorCode.NotFound, result.Error);
        Assert.Contains("Its manifest did not load:", result.Stderr);
        Assert.Contains("handler-missing", result.Stderr);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_command_above_the_remote_tier_is_denied_for_a_remote_origin_but_runs_locally()
    {
        TestManifests.Handler(_dir.Path, "wipe", "v1");
        var path = _dir.Combine("wipe", "command.yaml");
        File.WriteAllText(path, File.ReadAllText(path).Replace("tier: 1", "tier: 3"));
        var dispatcher = await DispatcherAsync();

        var remote = await dispatcher.DispatchAsync("/wipe", Some.Session(CommandOrigin.Remote("laptop2")), _dir.Path);
        var local = await dispatcher.DispatchAsync("/wipe", Some.Session(), _dir.Path);

        Assert.Equal(ErrorCode.Denied, remote.Error);
        Assert.Contains("tier 3", remote.Stderr);
        Assert.Contains("'laptop2'", remote.Stderr);
        Assert.True(local.Succeeded, local.Stderr);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_stricter_local_policy_denies_locally_too()
    {
        TestManifests.Handler(_dir.Path, "risky", "v1");
        var path = _dir.Combine("risky", "command.yaml");
        File.WriteAllText(path, File.ReadAllText(path).Replace("tier: 1", "tier: 2"));
        var dispatcher = await DispatcherAsync(new TierPolicy { LocalMaxTier = 1 });

        var result = await dispatcher.DispatchAsync("/risky", Some.Session(), _dir.Path);

        Assert.Equal(ErrorCode.Denied, result.Error);
        Assert.Equal(126, result.ExitCode);
    }

    [Fact(Timeout = 15_000)]
    public async Task Plain_shell_text_never_runs_for_a_remote_origin()
    {
        var marker = _dir.Combine("ran");
        var dispatcher = await DispatcherAsync();

        var result = await dispatcher.DispatchAsync($"touch '{marker}'", Some.Session(CommandOrigin.Remote("laptop2")), _dir.Path);

        Assert.Equal(ErrorCode.Denied, result.Error);
        Assert.False(File.Exists(marker));
    }

    [Fact(Timeout = 15_000)]
    public async Task Plain_shell_text_runs_through_the_shell_with_its_exit_code()
    {
        var dispatcher = await DispatcherAsync();

        var ok = await dispatcher.DispatchAsync($"test -d '{_dir.Path}'", Some.Session(), _dir.Path);
        var failed = await dispatcher.DispatchAsync("exit 42", Some.Session(), _dir.Path);

        Assert.Equal(0, ok.ExitCode);
        Assert.Equal(42, failed.ExitCode);
        Assert.Null(failed.Error);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_route_without_a_device_route_command_explains_what_is_missing()
    {
        var dispatcher = await DispatcherAsync();

        var result = await dispatcher.DispatchAsync("!laptop2 /status", Some.Session(), _dir.Path);

        Assert.Equal(ErrorCode.NotFound, result.Error);
        Assert.Contains("'!' trigger", result.Stderr);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_route_is_handed_to_the_device_route_command_as_data()
    {
        var manifest = TestManifests.Handler(_dir.Path, "device-route", "echo");
        var yaml = File.ReadAllText(manifest);
        var triggers = yaml[yaml.IndexOf("triggers:", StringComparison.Ordinal)..yaml.IndexOf("runtime:", StringComparison.Ordinal)];
        File.WriteAllText(manifest, yaml.Replace(triggers, """
            triggers:
              - prefix: "!"
                pattern: "^(?<device>[A-Za-z0-9][A-Za-z0-9._-]*)\\s+(?<text>\\S.*)$"

            """, StringComparison.Ordinal));
        var dispatcher = await DispatcherAsync();

        var result = await dispatcher.DispatchAsync("!laptop2 /status; rm -rf / $(whoami)", Some.Session(), _dir.Path);

        Assert.True(result.Succeeded, result.Stderr);
        using var request = System.Text.Json.JsonDocument.Parse(result.Stdout);
        var captures = request.RootElement.GetProperty("captures");
        Assert.Equal("laptop2", captures.GetProperty("device").GetString());
        Assert.Equal("/status; rm -rf / $(whoami)", captures.GetProperty("text").GetString());
    }

    [Fact(Timeout = 15_000)]
    public async Task Cancelling_a_running_handler_gives_a_cancelled_result()
    {
        TestManifests.Handler(_dir.Path, "slow", "sleep", 30_000, timeoutMs: 60_000);
        var dispatcher = await DispatcherAsync();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        var result = await dispatcher.DispatchAsync("/slow", Some.Session(), _dir.Path, cancel.Token);

        Assert.Equal(ErrorCode.Cancelled, result.Error);
        Assert.Equal(130, result.ExitCode);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_handler_failure_becomes_a_typed_error_result()
    {
        TestManifests.Handler(_dir.Path, "garbage", "garbage");
        var dispatcher = await DispatcherAsync();

        var result = await dispatcher.DispatchAsync("/garbage", Some.Session(), _dir.Path);

        Assert.Equal(ErrorCode.ProtocolError, result.Error);
        Assert.Equal(1, result.ExitCode);
    }
}
