using Isaac.Core.Hosting;
using Isaac.LineEditor;

namespace Isaac.Cli.Shell;

/// <summary>
/// What Tab offers at the prompt: meta-command names (with their descriptions), device names after <c>!</c>, the
/// arguments a command's manifest declares (listed as hints), and file paths for plain shell commands.
/// </summary>
internal sealed class ShellCompletion(IsaacHost host)
{
    private const int MaxFiles = 1000;

    private readonly Completion[] _commands = [.. host.Commands
        .Select(c => new Completion(CommandWord(c.Usage), c.Description))
        .DistinctBy(c => c.Text)
        .OrderBy(c => c.Text, StringComparer.Ordinal)];

    private volatile string[] _devices = [];

    /// <summary>Device names for <c>!</c>, refreshed by <see cref="RefreshDevicesAsync"/>.</summary>
    public IReadOnlyList<string> Devices => _devices;

    /// <summary>Reads the device list (the hub's, or its last answer kept for offline use).</summary>
    public async Task RefreshDevicesAsync(CancellationToken cancellationToken = default)
    {
        var list = await host.ListDevicesAsync(cancellationToken);
        _devices = [.. list.Devices.Select(d => d.Name)];
    }

    /// <summary>An SGR colour for the first word: green for a meta-command, cyan for a route, red for an unknown /command.</summary>
    public string? FirstWordStyle(string word) => word switch
    {
        ['/', ..] => _commands.Any(c => c.Text == word) ? "32" : "31",
        ['!', _, ..] => "36",
        "cd" or "exit" or "quit" => "32",
        _ => null,
    };

    public CompletionSet Complete(string line, int cursor)
    {
        var before = line[..cursor];
        var start = before.LastIndexOfAny([' ', '\t', '\n']) + 1;
        var word = before[start..];
        var previous = before[..start].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var routed = previous.Length > 0 && previous[0].StartsWith('!');
        var commandAt = routed ? 1 : 0;

        if (previous.Length == 0 && word.StartsWith('!'))
        {
            return Set(start, _devices.Select(d => new Completion("!" + d)).Where(c => c.Text.StartsWith(word, StringComparison.Ordinal)));
        }

        if (previous.Length == commandAt && word.StartsWith('/'))
        {
            return Set(start, _commands.Where(c => c.Text.StartsWith(word, StringComparison.Ordinal)));
        }

        if (previous.Length > commandAt && previous[commandAt].StartsWith('/'))
        {
            var arguments = host.ArgumentsOf(previous[commandAt][1..]);
            var position = previous.Length - commandAt - 1;
            return position < arguments.Count
                ? new CompletionSet
                {
                    Start = cursor,
                    Candidates = [.. arguments.Skip(position).Select(a => new Completion(a.Required ? $"<{a.Name}>" : $"[{a.Name}]", a.Description))],
                    HintsOnly = true,
                }
                : CompletionSet.None;
        }

        return routed ? CompletionSet.None : Set(start, Files(word));
    }

    private static CompletionSet Set(int start, IEnumerable<Completion> candidates) => new() { Start = start, Candidates = [.. candidates] };

    // "/queue [args]" is typed "/queue".
    private static string CommandWord(string usage) => usage.Split(' ', 2)[0];

    private static IEnumerable<Completion> Files(string word)
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var typedFolder = word[..(word.LastIndexOf('/') + 1)];
        var name = word[typedFolder.Length..];
        var folder = typedFolder switch
        {
            "" => Environment.CurrentDirectory,
            ['~', '/', ..] => Path.Combine(home, typedFolder[2..]),
            _ => Path.Combine(Environment.CurrentDirectory, typedFolder),
        };

        try
        {
            return [.. new DirectoryInfo(folder).EnumerateFileSystemInfos()
                .Where(f => f.Name.StartsWith(name, StringComparison.Ordinal) && (name.StartsWith('.') || !f.Name.StartsWith('.')))
                .Take(MaxFiles)
                .OrderBy(f => f.Name, StringComparer.Ordinal)
                .Select(f => f is DirectoryInfo
                    ? new Completion(typedFolder + f.Name + "/", Complete: false)
                    : new Completion(typedFolder + f.Name))];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return []; // no such folder, or not readable: nothing to offer
        }
    }
}
