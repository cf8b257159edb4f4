using System.Text.Json;
using Isaac.Core.Queue;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Queue;

public sealed class QueuePolicyTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_manifest_queue_section_sets_expiry_coalescing_and_batching()
    {
        // Arrange
        _dir.Write("status/run.sh", "");
        var path = _dir.Write("status/command.yaml", """
            version: "1.0"
            command: { name: status }
            runtime: { handler: run.sh }
            security: { tier: 1 }
            queue: { ttl_seconds: 600, coalesce_key: status, parallel: true }
            """);
        var command = await TestManifests.LoadAsync(path);

        // Act
        var request = QueuedCommands.For(command, CommandType.DeviceRoute, "!laptop2 /status", "laptop2")!;

        // Assert
        Assert.Equal(TimeSpan.FromMinutes(10), request.TimeToLive);
        Assert.Equal("status", request.CoalesceKey);
        Assert.True(request.Parallel);
        Assert.Equal("laptop2", request.Target);
        using var metadata = JsonDocument.Parse(request.Metadata!);
        Assert.Equal(1, metadata.RootElement.GetProperty("tier").GetInt32());
    }

    [Fact]
    public async Task A_command_whose_manifest_forbids_queueing_gets_no_entry()
    {
        _dir.Write("deploy/run.sh", "");
        var path = _dir.Write("deploy/command.yaml", """
            version: "1.0"
            command: { name: deploy }
            runtime: { handler: run.sh }
            queue: { allowed: false }
            """);
        var command = await TestManifests.LoadAsync(path);

        Assert.Null(QueuedCommands.For(command, CommandType.Meta, "/deploy", null));
    }

    [Fact]
    public async Task Without_a_queue_section_commands_queue_sequentially_and_never_expire()
    {
        _dir.Write("plain/run.sh", "");
        var command = await TestManifests.LoadAsync(_dir.Write("plain/command.yaml", "version: \"1.0\"\ncommand: { name: plain }\nruntime: { handler: run.sh }\n"));

        var request = QueuedCommands.For(command, CommandType.Meta, "/plain", null)!;

        Assert.False(request.Parallel);
        Assert.Null(request.TimeToLive);
        Assert.Null(request.CoalesceKey);
    }

    [Fact]
    public async Task An_unknown_key_in_the_queue_section_is_reported()
    {
        _dir.Write("typo/run.sh", "");
        var path = _dir.Write("typo/command.yaml", "version: \"1.0\"\ncommand: { name: typo }\nruntime: { handler: run.sh }\nqueue:\n  ttl: 60\n");

        var result = await new Core.Manifests.ManifestLoader().LoadAsync(path);

        Assert.Contains(result.Problems, p => p.Message.Contains("'queue.ttl' is not a known key") && p.Line == 5);
    }
}
