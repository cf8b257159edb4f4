using System.Text.Json;
using Isaac.Core.Dispatch;
using Isaac.Core.Internal;
using Isaac.Core.Plugins;
using Isaac.Core.Tests.Support;
using Isaac.Plugins;

namespace Isaac.Core.Tests.Security;

/// <summary>Rights follow the typed origin, never a device's name: a remote device called "local" is still remote.</summary>
public sealed class OriginPolicyTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly PluginCatalog _plugins = new();

    public void Dispose()
    {
        _plugins.Dispose();
        _dir.Dispose();
    }

    private async Task<Dispatcher> DispatcherAsync() => Some.Dispatcher(await TestManifests.CatalogAsync(_dir.Path), _plugins);

    [Theory]
    [InlineData("local")]
    [InlineData("LOCAL")]
    [InlineData("laptop2")]
    public void A_remote_origin_gets_the_remote_tier_limit_whatever_its_device_is_called(string device)
    {
        // Arrange
        var policy = new TierPolicy { LocalMaxTier = 3, RemoteMaxTier = 1 };

        // Act
        var remote = policy.MaxTierFor(CommandOrigin.Remote(device));
        var local = policy.MaxTierFor(CommandOrigin.Local);

        // Assert
        Assert.Equal(1, remote);
        Assert.Equal(3, local);
        Assert.True(CommandOrigin.Remote(device).IsRemote);
        Assert.NotEqual(CommandOrigin.Local, CommandOrigin.Remote(device));
    }

    [Fact(Timeout = 15_000)]
    public async Task Plain_shell_text_from_a_remote_device_named_local_never_runs()
    {
        // Arrange
        var marker = _dir.Combine("ran");
        var dispatcher = await DispatcherAsync();

        // Act
        var result = await dispatcher.DispatchAsync($"touch '{marker}'", Some.Session(CommandOrigin.Remote("local")), _dir.Path);

        // Assert
        Assert.Equal(ErrorCode.Denied, result.Error);
        Assert.Contains("'local'", result.Stderr);
        Assert.False(File.Exists(marker));
    }

    [Fact(Timeout = 15_000)]
    public async Task A_tier_2_command_from_a_remote_device_named_local_is_denied_before_its_handler_starts()
    {
        // Arrange
        var marker = _dir.Combine("ran");
        var manifest = TestManifests.Script(_dir.Path, "risky", $"touch '{marker}'; echo '{{\"status\":\"success\"}}'");
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("tier: 1", "tier: 2"));
        var dispatcher = await DispatcherAsync();

        // Act
        var remote = await dispatcher.DispatchAsync("/risky", Some.Session(CommandOrigin.Remote("local")), _dir.Path);

        // Assert
        Assert.Equal(ErrorCode.Denied, remote.Error);
        Assert.Contains("tier 2", remote.Stderr);
        Assert.False(File.Exists(marker));
    }

    [Fact(Timeout = 15_000)]
    public async Task A_command_from_a_remote_device_named_local_cannot_be_routed_on()
    {
        // Arrange: a route carrier (a command with a '!' trigger) whose handler would leave a marker.
        var marker = _dir.Combine("routed");
        var manifest = TestManifests.Script(_dir.Path, "carrier", $"touch '{marker}'; echo '{{\"status\":\"success\"}}'");
        File.WriteAllText(manifest, File.ReadAllText(manifest)
            .Replace("prefix: \"/\"", "prefix: \"!\"")
            .Replace("^carrier(\\\\s+(.*))?$", "^(?<device>[a-z0-9]+)\\\\s+(?<text>.+)$")
            .Replace("capture: args", ""));
        var dispatcher = await DispatcherAsync();

        // Act
        var local = await dispatcher.DispatchAsync("!desktop /sysinfo", Some.Session(), _dir.Path);
        var ranLocally = File.Exists(marker);
        File.Delete(marker);
        var remote = await dispatcher.DispatchAsync("!desktop /sysinfo", Some.Session(CommandOrigin.Remote("local")), _dir.Path);

        // Assert
        Assert.True(local.Succeeded && ranLocally, local.Stderr);
        Assert.Equal(ErrorCode.Denied, remote.Error);
        Assert.Contains("cannot be routed on", remote.Stderr);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void A_routed_commands_result_is_inert_and_names_the_route_to_run_its_confirmation_there()
    {
        // Arrange
        var answer = new CommandResponse { Kind = "confirm", Stdout = "Drop #5 for good?", Meta = new Dictionary<string, string> { ["confirm"] = "/queue drop 5 --yes", ["n"] = "1" } };

        // Act
        var routed = new RoutedCommand { Id = "h1", Target = "laptop2", Text = "/queue drop 5", Status = "completed", Result = answer };
        var copied = routed with { Status = "completed" };

        // Assert
        Assert.NotNull(routed.Result);
        Assert.Equal("text", routed.Result.Kind);
        Assert.False(routed.Result.Meta.ContainsKey("confirm"));
        Assert.Equal("1", routed.Result.Meta["n"]);
        Assert.Equal("!laptop2 /queue drop 5 --yes", routed.Result.Meta["remote_confirm"]);
        Assert.Equal("Drop #5 for good?\n(laptop2 asked to confirm; nothing runs on this device. To go ahead, run it there: !laptop2 /queue drop 5 --yes)\n", routed.Result.Stdout);
        Assert.Equal((routed.Result.Kind, routed.Result.Stdout), (copied.Result?.Kind, copied.Result?.Stdout));
    }

    [Theory]
    [InlineData("!", true)]
    [InlineData("/", false)]
    public async Task A_confirm_answer_is_asked_only_when_this_device_produced_it(string prefix, bool remote)
    {
        // Arrange: a command answering "confirm"; with a '!' trigger it carries lines to other devices.
        var manifest = TestManifests.Script(_dir.Path, "asker", """echo '{"status":"success","kind":"confirm","stdout":"Sure?","meta":{"confirm":"touch x"}}'""");
        File.WriteAllText(manifest, File.ReadAllText(manifest)
            .Replace("prefix: \"/\"", $"prefix: \"{prefix}\"")
            .Replace("^asker(\\\\s+(.*))?$", "^(?<device>asker)(\\\\s+(.*))?$"));
        var dispatcher = await DispatcherAsync();

        // Act
        var result = await dispatcher.DispatchAsync($"{prefix}asker", Some.Session(), _dir.Path);

        // Assert
        Assert.True(result.Succeeded, result.Stderr);
        Assert.Equal(remote, result.Origin.IsRemote);
        Assert.Equal(remote ? null : "touch x", result.Confirmation);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_script_handler_reads_origin_as_local_or_remote_and_the_remote_device_apart()
    {
        // Arrange: the fixture handler answers with the request it read on stdin.
        TestManifests.Handler(_dir.Path, "echo", "echo");
        var dispatcher = await DispatcherAsync();

        // Act
        var local = await dispatcher.DispatchAsync("/echo", Some.Session(), _dir.Path);
        var remote = await dispatcher.DispatchAsync("/echo", Some.Session(CommandOrigin.Remote("local")), _dir.Path);

        // Assert
        Assert.True(local.Succeeded && remote.Succeeded, local.Stderr + remote.Stderr);
        using var localJson = JsonDocument.Parse(local.Stdout);
        using var remoteJson = JsonDocument.Parse(remote.Stdout);
        var localSession = localJson.RootElement.GetProperty("session");
        var remoteSession = remoteJson.RootElement.GetProperty("session");
        Assert.Equal("local", localSession.GetProperty("origin").GetString());
        Assert.False(localSession.TryGetProperty("origin_device", out _));
        Assert.Equal("remote", remoteSession.GetProperty("origin").GetString());
        Assert.Equal("local", remoteSession.GetProperty("origin_device").GetString());
    }

    [Fact(Timeout = 15_000)]
    public async Task Local_and_remote_requests_match_the_request_schema_and_a_device_name_as_origin_does_not()
    {
        // Arrange
        var command = await TestManifests.LoadAsync(TestManifests.Handler(_dir.Path, "echo", "echo"));
        var schema = await NJsonSchema.JsonSchema.FromFileAsync(Path.Combine(Fixtures.RepoRoot, "schemas", "request.schema.json"));
        var runner = new Isaac.Core.Execution.OutOfProcessRunner();

        // Act
        var local = await runner.RunAsync(command, Some.Request(command));
        var remote = await runner.RunAsync(command, Some.Request(command) with { Session = Some.Session(CommandOrigin.Remote("laptop2")) });
        var oldStyle = remote.Stdout.Replace("\"origin\":\"remote\"", "\"origin\":\"laptop2\"", StringComparison.Ordinal);

        // Assert
        Assert.Empty(schema.Validate(local.Stdout));
        Assert.Empty(schema.Validate(remote.Stdout));
        Assert.NotEmpty(schema.Validate(oldStyle));
    }

    [Theory]
    [InlineData("""{"device":"d","isaac_home":"/h","origin":"remote","origin_device":"local"}""", "local")]
    [InlineData("""{"origin_device":"laptop2","origin":"remote","device":"d","isaac_home":"/h"}""", "laptop2")]
    [InlineData("""{"device":"d","isaac_home":"/h","origin":"laptop2"}""", "")]
    public void A_session_read_back_from_json_is_remote_unless_it_says_local(string json, string device)
    {
        // Act
        var session = JsonSerializer.Deserialize(json, IsaacJson.Default.SessionInfo);

        // Assert
        Assert.NotNull(session);
        Assert.Equal(CommandOrigin.Remote(device), session.Origin);
    }

    [Fact]
    public void A_session_read_back_from_json_that_says_local_is_local()
    {
        // Act
        var session = JsonSerializer.Deserialize("""{"device":"d","isaac_home":"/h","origin":"local"}""", IsaacJson.Default.SessionInfo);

        // Assert
        Assert.NotNull(session);
        Assert.True(session.Origin.IsLocal);
    }
}
