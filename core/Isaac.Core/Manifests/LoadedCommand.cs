using System.Globalization;
using System.Text.RegularExpressions;
using Isaac.Plugins;

namespace Isaac.Core.Manifests;

internal enum HandlerKind
{
    Script,
    Plugin,

    /// <summary>A long-running task, woken and watched by the device agent (docs/tasks.md); no handler runs.</summary>
    Task,
}

/// <summary>
/// One trigger of a loaded command. Its regular expression is built on first use: a start that only runs a shell
/// command, or a line whose literal head rules the trigger out, never loads the regex engine (docs/BENCHMARKS.md).
/// </summary>
internal sealed class CompiledTrigger(TriggerSpec spec)
{
    // User manifests are untrusted input; a pathological pattern must not hang the shell.
    private static readonly TimeSpan _regexBudget = TimeSpan.FromMilliseconds(100);

    private readonly string? _requiredHead = RequiredHead(spec.Pattern);
    private Regex? _regex;
    private int _captureGroup = -1;

    public TriggerSpec Spec { get; } = spec;

    /// <summary>The compiled pattern; throws <see cref="ArgumentException"/> when it is not a valid regular expression.</summary>
    public Regex Regex => _regex ??= new Regex(Spec.Pattern, RegexOptions.CultureInvariant, _regexBudget);

    /// <summary>
    /// The group <see cref="TriggerSpec.Capture"/> names: the last unnamed group (named groups are numbered after
    /// them, so "last number" would be wrong), else the last named one; 0 when the pattern has no group.
    /// </summary>
    public int CaptureGroup => _captureGroup >= 0 ? _captureGroup : _captureGroup = LastGroup(Regex);

    /// <summary>Whether the pattern might match <paramref name="text"/>; false only when its literal head proves it cannot.</summary>
    public bool MightMatch(string text) => _requiredHead is null || text.StartsWith(_requiredHead, StringComparison.Ordinal);

    /// <summary>How a person types it, for completion and /help: the prefix plus the literal head of the pattern.</summary>
    public string Usage(string name) => Spec.Prefix + (LiteralHead(Spec.Pattern) is { Length: > 0 } head ? head : name);

    private static int LastGroup(Regex regex)
    {
        var numbers = regex.GetGroupNumbers();
        var unnamed = numbers.Where(n => n > 0 && regex.GroupNameFromNumber(n) == n.ToString(CultureInfo.InvariantCulture));
        return unnamed.DefaultIfEmpty(numbers.Max()).Max();
    }

    // The literal text every match must start with, or null when that cannot be told without the regex engine:
    // the pattern must be anchored by '^', have no top-level '|', and a quantifier after the head makes its last
    // character optional.
    private static string? RequiredHead(string pattern)
    {
        if (!pattern.StartsWith('^') || HasTopLevelAlternation(pattern))
        {
            return null;
        }

        var body = pattern.TrimStart('^');
        var head = LiteralHead(pattern);
        var optionalLast = body.Length > head.Length && body[head.Length] is '?' or '*' or '{';
        return optionalLast ? head[..Math.Max(0, head.Length - 1)] : head;
    }

    private static bool HasTopLevelAlternation(string pattern)
    {
        var depth = 0;
        for (var i = 0; i < pattern.Length; i++)
        {
            switch (pattern[i])
            {
                case '\\':
                    i++;
                    break;
                case '[':
                    // A class ends at the first unescaped ']' that is not its first character.
                    i += i + 1 < pattern.Length && pattern[i + 1] == '^' ? 2 : 1;
                    i += i < pattern.Length && pattern[i] == ']' ? 1 : 0;
                    while (i < pattern.Length && pattern[i] != ']')
                    {
                        i += pattern[i] == '\\' ? 2 : 1;
                    }

                    break;
                case '(':
                    depth++;
                    break;
                case ')':
                    depth--;
                    break;
                case '|' when depth <= 0:
                    return true;
            }
        }

        return false;
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

    private string KindName => Kind switch { HandlerKind.Plugin => "plugin", HandlerKind.Task => "task", _ => "script" };

    /// <summary>How to type it with its arguments and flags, for example <c>/queue [action] [--json]</c>.</summary>
    public string Usage =>
        Triggers[0].Usage(Name)
        + string.Concat(Manifest.Arguments.Select(a => a.Required ? $" <{a.Name}>" : $" [{a.Name}]"))
        + string.Concat((Manifest.Flags ?? []).Select(f => $" [{f.Name}]"));

    /// <summary>What <c>/NAME --help</c> and <c>/help NAME</c> show: description, usage, arguments and flags, from the manifest.</summary>
    public string Help()
    {
        var lines = new List<string> { $"{Triggers[0].Usage(Name)} - {(Manifest.Command.Description.Length > 0 ? Manifest.Command.Description : "(no description)")}", "", $"Usage: {Usage}" };
        if (Triggers.Count > 1)
        {
            lines.AddRange(Triggers.Skip(1).Select(t => $"   or: {t.Spec.Prefix}{t.Spec.Pattern}"));
        }

        (string Name, string Description)[] arguments = [.. Manifest.Arguments.Select(a => (a.Name, a.Description + (a.Required ? " (required)" : "")))];
        (string Name, string Description)[] flags = [.. (Manifest.Flags ?? []).Select(f => (f.Name, f.Description)), ("--help", "Show this help")];
        var width = arguments.Concat(flags).Max(a => a.Name.Length);
        if (arguments.Length > 0)
        {
            lines.Add("");
            lines.Add("Arguments:");
            lines.AddRange(arguments.Select(a => $"  {a.Name.PadRight(width)}  {a.Description}".TrimEnd()));
        }

        lines.Add("");
        lines.Add("Flags:");
        lines.AddRange(flags.Select(f => $"  {f.Name.PadRight(width)}  {f.Description}".TrimEnd()));
        lines.Add("");
        lines.Add($"Category {Manifest.Command.Category}, tier {Manifest.Security.Tier}, {KindName} handler; manifest {ManifestPath}");
        return string.Join('\n', lines) + "\n";
    }

    public CommandDescriptor ToDescriptor() => new()
    {
        Name = Name,
        Description = Manifest.Command.Description,
        Category = Manifest.Command.Category,
        Usage = Triggers[0].Usage(Name),
        Tier = Manifest.Security.Tier,
        HandlerKind = KindName,
        Help = Help(),
    };
}
