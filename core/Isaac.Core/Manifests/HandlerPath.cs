namespace Isaac.Core.Manifests;

/// <summary>
/// Where a handler really is. Every component of the path is resolved, symbolic links included (a linked
/// directory such as <c>sub</c> in <c>sub/run.sh</c> as much as the file), and the result must lie inside the
/// manifest folder's own real path. Checked when a manifest loads and again just before a handler starts,
/// because links can change in between.
/// </summary>
internal static class HandlerPath
{
    // Linux gives up after 40 links (MAXSYMLINKS); so do we, which also ends loops.
    private const int MaxLinks = 40;

    /// <summary>The problem with <paramref name="handler"/> (relative to <paramref name="directory"/>), or null when it is a file inside.</summary>
    public static (string Rule, string Message)? Check(string directory, string handler)
    {
        var lexical = Path.GetFullPath(Path.Combine(directory, handler));
        if (!IsInside(Path.GetFullPath(directory), lexical))
        {
            return ("handler-path", $"handler '{handler}' resolves to '{lexical}', outside the manifest's folder; keep handlers next to command.yaml");
        }

        if (!File.Exists(lexical))
        {
            return ("handler-missing", $"handler '{handler}' does not exist at '{lexical}'");
        }

        var realDirectory = RealPath(directory);
        var real = RealPath(Path.Combine(directory, handler));
        if (realDirectory is null || real is null)
        {
            return ("handler-path", $"handler '{handler}' could not be resolved (a broken link or a loop of more than {MaxLinks} links)");
        }

        return IsInside(realDirectory, real)
            ? null
            : ("handler-path", $"handler '{handler}' is a link to '{real}', outside the manifest's folder '{realDirectory}'; keep handlers, and the folders leading to them, inside it");
    }

    /// <summary>
    /// The path with every symbolic link in every component followed, like realpath(3); null when a component is
    /// missing or unreadable, or when there are too many links. Walks a work list, so a deep path costs no stack.
    /// </summary>
    public static string? RealPath(string path)
    {
        var absolute = Path.IsPathRooted(path) ? path : Path.Combine(Environment.CurrentDirectory, path);
        var root = Path.GetPathRoot(absolute) ?? "/";
        var pending = new Stack<string>();
        Push(pending, absolute[root.Length..]);
        var current = root;
        var links = 0;
        while (pending.TryPop(out var part))
        {
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? root;
                continue;
            }

            var next = Path.Join(current, part);
            string? target;
            try
            {
                var info = new FileInfo(next);
                if (!info.Exists && !Directory.Exists(next))
                {
                    return null;
                }

                target = info.LinkTarget;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return null;
            }

            if (target is null)
            {
                current = next;
                continue;
            }

            if (++links > MaxLinks)
            {
                return null;
            }

            // A relative target is relative to the link's own folder, which is where we stand.
            if (Path.IsPathRooted(target))
            {
                current = Path.GetPathRoot(target) ?? root;
                target = target[current.Length..];
            }

            Push(pending, target);
        }

        return current;
    }

    public static bool IsInside(string directory, string candidate)
    {
        var root = Path.TrimEndingDirectorySeparator(directory) + Path.DirectorySeparatorChar;
        return candidate.StartsWith(root, StringComparison.Ordinal);
    }

    private static void Push(Stack<string> pending, string relative)
    {
        var parts = relative.Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        for (var i = parts.Length - 1; i >= 0; i--)
        {
            pending.Push(parts[i]);
        }
    }
}
