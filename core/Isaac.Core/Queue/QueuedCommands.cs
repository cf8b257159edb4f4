using System.Text.Json.Nodes;
using Isaac.Core.Manifests;

namespace Isaac.Core.Queue;

/// <summary>Turns a command that cannot reach the hub now into a queue entry under its manifest's queue policy.</summary>
internal static class QueuedCommands
{
    /// <summary>The entry for <paramref name="command"/>, or null when its manifest says it may not be queued.</summary>
    public static EnqueueRequest? For(LoadedCommand command, string type, string text, string? target)
    {
        var policy = command.Manifest.Queue;
        if (!policy.Allowed)
        {
            return null;
        }

        var metadata = new JsonObject
        {
            ["command"] = command.Name,
            ["tier"] = command.Manifest.Security.Tier,
            ["manifest"] = command.ManifestPath,
        };
        return new EnqueueRequest
        {
            Type = type,
            Text = text,
            Target = target,
            Parallel = policy.Parallel,
            TimeToLive = policy.TtlSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
            CoalesceKey = policy.CoalesceKey,
            Metadata = metadata.ToJsonString(),
        };
    }
}
