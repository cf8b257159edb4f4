using System.Text.RegularExpressions;
using Isaac.Plugins;

namespace Isaac.Core.Manifests;

internal sealed record CommandMatch(LoadedCommand Command, CompiledTrigger Trigger, IReadOnlyDictionary<string, string> Captures, string ArgsText);

/// <summary>
/// All commands found under the manifest roots, and every problem met on the way. The interactive shell's catalog
/// is swapped to a fresh load when the files change (<see cref="CatalogWatcher"/>); each property reads one
/// consistent snapshot.
/// </summary>
internal sealed class CommandCatalog
{
    private Snapshot _snapshot;

    private CommandCatalog(IReadOnlyList<LoadedCommand> commands, IReadOnlyList<ManifestProblem> loadProblems)
    {
        _snapshot = new Snapshot(
            commands,
            commands.Select(c => c.ToDescriptor()).OrderBy(d => d.Name, StringComparer.Ordinal).ToArray(),
            new(() => [.. loadProblems, .. commands.SelectMany((c, i) => Overlaps(commands.Take(i), c))]));
        LiveDescriptors = new LiveList(this);
    }

    /// <summary>Loaded commands in precedence order: earlier roots first, then by folder name.</summary>
    public IReadOnlyList<LoadedCommand> Commands => Volatile.Read(ref _snapshot).Commands;

    /// <summary>
    /// Every problem met loading, then overlapping triggers. The overlap check runs trigger regexes against each
    /// other, so it runs when first asked (the shell's warnings, validate, an unknown command), never for a line
    /// that does not need it.
    /// </summary>
    public IReadOnlyList<ManifestProblem> Problems => Volatile.Read(ref _snapshot).Problems.Value;

    public IReadOnlyList<CommandDescriptor> Descriptors => Volatile.Read(ref _snapshot).Descriptors;

    /// <summary>The descriptors as they are whenever read, for plugins (/help) that outlive a reload.</summary>
    public IReadOnlyList<CommandDescriptor> LiveDescriptors { get; }

    /// <summary>Takes the commands of <paramref name="loaded"/> (a fresh load of the same roots) in one step.</summary>
    public void ReplaceWith(CommandCatalog loaded) => Volatile.Write(ref _snapshot, Volatile.Read(ref loaded._snapshot));

    public static CommandCatalog Empty => new([], []);

    /// <summary>
    /// Loads <c>command.yaml</c> from each root (a manifest folder itself, or a folder of them).
    /// One bad manifest never stops the others; a repeated name keeps the first and reports the rest.
    /// </summary>
    public static async Task<CommandCatalog> LoadAsync(ManifestLoader loader, IEnumerable<string> roots, CancellationToken cancellationToken = default)
    {
        var commands = new List<LoadedCommand>();
        var problems = new List<ManifestProblem>();
        foreach (var path in roots.SelectMany(FindManifests))
        {
            var result = await loader.LoadAsync(path, cancellationToken).ConfigureAwait(false);
            problems.AddRange(result.Problems);
            if (result.Command is not { } command)
            {
                continue;
            }

            if (commands.FirstOrDefault(c => c.Name == command.Name) is { } first)
            {
                problems.Add(new ManifestProblem(command.ManifestPath, 1, 1, "duplicate-name",
                    $"command '{command.Name}' is already defined by {first.ManifestPath}; this one is ignored. Rename one of them."));
                continue;
            }

            commands.Add(command);
        }

        return new CommandCatalog(commands, problems);
    }

    public static IEnumerable<string> FindManifests(string root)
    {
        if (File.Exists(root))
        {
            return [Path.GetFullPath(root)];
        }

        if (!Directory.Exists(root))
        {
            return [];
        }

        var own = Path.Combine(root, ManifestLoader.FileName);
        if (File.Exists(own))
        {
            return [Path.GetFullPath(own)];
        }

        return Directory.EnumerateDirectories(root)
            .Order(StringComparer.Ordinal)
            .Select(dir => Path.Combine(dir, ManifestLoader.FileName))
            .Where(File.Exists)
            .Select(Path.GetFullPath)
            .ToArray();
    }

    public LoadedCommand? Find(string name) => Commands.FirstOrDefault(c => c.Name == name);

    /// <summary>The first command whose trigger matches the input, in precedence order.</summary>
    public CommandMatch? Match(string input)
    {
        foreach (var command in Commands)
        {
            foreach (var trigger in command.Triggers)
            {
                // The literal checks come first, here, so a line no trigger can take never loads the regex engine.
                if (input.StartsWith(trigger.Spec.Prefix, StringComparison.Ordinal) && trigger.MightMatch(input[trigger.Spec.Prefix.Length..])
                    && Match(command, trigger, input) is { } match)
                {
                    return match;
                }
            }
        }

        return null;
    }

    private static CommandMatch? Match(LoadedCommand command, CompiledTrigger trigger, string input)
    {
        Match m;
        try
        {
            m = trigger.Regex.Match(input[trigger.Spec.Prefix.Length..]);
        }
        catch (RegexMatchTimeoutException)
        {
            return null;
        }

        if (!m.Success)
        {
            return null;
        }

        var captures = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in trigger.Regex.GetGroupNames())
        {
            if (!int.TryParse(name, out _) && m.Groups[name].Success)
            {
                captures[name] = m.Groups[name].Value;
            }
        }

        var argsText = "";
        if (trigger.Spec.Capture is { } captureName)
        {
            var last = m.Groups[trigger.CaptureGroup];
            argsText = last.Success ? last.Value : "";
            captures[captureName] = argsText;
        }

        return new CommandMatch(command, trigger, captures, argsText);
    }

    private static IEnumerable<ManifestProblem> Overlaps(IEnumerable<LoadedCommand> earlier, LoadedCommand command)
    {
        foreach (var other in earlier)
        {
            foreach (var mine in command.Triggers)
            {
                foreach (var theirs in other.Triggers)
                {
                    if (mine.Spec.Prefix != theirs.Spec.Prefix)
                    {
                        continue;
                    }

                    // Regex intersection is undecidable in general; probe each trigger with the other's literal head.
                    var probe = Probes(mine, command.Name).FirstOrDefault(p => IsMatch(theirs, p))
                        ?? Probes(theirs, other.Name).FirstOrDefault(p => IsMatch(mine, p));
                    if (probe is not null)
                    {
                        yield return new ManifestProblem(command.ManifestPath, 1, 1, "overlapping-trigger",
                            $"trigger '{mine.Spec.Pattern}' of '{command.Name}' overlaps trigger '{theirs.Spec.Pattern}' of '{other.Name}' ({other.ManifestPath}): " +
                            $"'{mine.Spec.Prefix}{probe}' matches both and runs '{other.Name}'. Make the patterns disjoint.");
                    }
                }
            }
        }
    }

    private static IEnumerable<string> Probes(CompiledTrigger trigger, string name)
    {
        var head = trigger.Usage(name)[trigger.Spec.Prefix.Length..];
        return [head, head + " x"];
    }

    private static bool IsMatch(CompiledTrigger trigger, string text)
    {
        try
        {
            return trigger.Regex.IsMatch(text);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    private sealed record Snapshot(IReadOnlyList<LoadedCommand> Commands, IReadOnlyList<CommandDescriptor> Descriptors, Lazy<IReadOnlyList<ManifestProblem>> Problems);

    private sealed class LiveList(CommandCatalog catalog) : IReadOnlyList<CommandDescriptor>
    {
        public int Count => catalog.Descriptors.Count;

        public CommandDescriptor this[int index] => catalog.Descriptors[index];

        public IEnumerator<CommandDescriptor> GetEnumerator() => catalog.Descriptors.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
