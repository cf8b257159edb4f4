using System.Globalization;
using System.Text.RegularExpressions;
using Isaac.Plugins;

namespace Isaac.Core.Manifests;

internal enum HandlerKind
{
    Script,
    Plugin,
}

internal sealed record CompiledTrigger(TriggerSpec Spec, Regex Regex)
{
    /// <summary>
    /// The group <see cref="TriggerSpec.Capture"/> names: the last unnamed group (named groups are numbered after
    /// them, so "last number" would be wrong), else the last named one; 0 when the pattern has no group.
    /// </summary>
    public int CaptureGroup { get; } = LastGroup(Regex);

    /// <summary>How a person types it, for completion and /help: the prefix plus the literal head of the pattern.</summary>
    public string Usage(string name) => Spec.Prefix + (LiteralHead(Spec.Pattern) is { Length: > 0 } head ? head : name);

    private static int LastGroup(Regex regex)
    {
        var numbers = regex.GetGroupNumbers();
        var unnamed = numbers.Where(n => n > 0 && regex.GroupNameFromNumber(n) == n.ToString(CultureInfo.InvariantCulture));
        return unnamed.DefaultIfEmpty(numbers.Max()).Max();
    }

    private static string LiteralHead(string pattern)
    {
        var head = pattern.TrimStart('^');
        var end = head.IndexOfAny(['(', '[', '\\', '$', '.', '*', '+', '?', '{', '|', ' ']);
        return end < 0 ? head : head[..end];
    }
}

/// <summary>A manifest that passed validation, with everything dispatch needs resolved once.</summary>
internal sealed record LoadedCommand
{
    public required CommandManifest Manifest { get; init; }
    public required string ManifestPath { get; init; }

    /// <summary>Absolute path of the handler, proven to lie inside the manifest's folder.</summary>
    public required string HandlerPath { get; init; }

    public required HandlerKind Kind { get; init; }
    public required IReadOnlyList<CompiledTrigger> Triggers { get; init; }

    public string Name => Manifest.Command.Name;
    public string Directory => Path.GetDirectoryName(ManifestPath) ?? ".";
    public TimeSpan Timeout => TimeSpan.FromMilliseconds(Manifest.Runtime.TimeoutMs);

    public CommandDescriptor ToDescriptor() => new()
    {
        Name = Name,
        Description = Manifest.Command.Description,
        Category = Manifest.Command.Category,
        Usage = Triggers[0].Usage(Name),
        Tier = Manifest.Security.Tier,
        HandlerKind = Kind == HandlerKind.Plugin ? "plugin" : "script",
    };
}
