using System.Text;

namespace Isaac.Cli.Shell;

/// <summary>
/// Command history in a plain text file, one line per entry, shared by every shell of the same ISAAC_HOME: each
/// shell appends whole lines in one write to a file opened for appending, and reads the file when it starts. The
/// file keeps duplicates (it is a log); the editor's list holds each line once, newest place kept.
/// </summary>
internal sealed class History(string path, int limit)
{
    /// <summary>The most recent distinct entries, oldest first; a file of more than twice the limit is compacted.</summary>
    public IReadOnlyList<string> Load()
    {
        try
        {
            if (!File.Exists(path))
            {
                return [];
            }

            var lines = File.ReadAllLines(path);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var recent = new List<string>();
            for (var index = lines.Length - 1; index >= 0 && recent.Count < limit; index--)
            {
                if (lines[index].Length > 0 && seen.Add(lines[index]))
                {
                    recent.Add(lines[index]);
                }
            }

            recent.Reverse();
            if (lines.Length > 2 * limit)
            {
                // Written aside and renamed over the file, so a crash leaves either file whole.
                var compacted = path + ".compact";
                File.WriteAllLines(compacted, recent);
                File.Move(compacted, path, overwrite: true);
            }

            return recent;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"isaac: warning: history not read from {path}: {ex.Message}");
            return [];
        }
    }

    public void Append(string line)
    {
        if (line.Contains('\n'))
        {
            return;
        }

        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path) ?? ".");
            // One write of a whole line to a file opened for appending: lines of two shells never interleave.
            using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            file.Write(Encoding.UTF8.GetBytes(line + "\n"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // History is a convenience; never fail a command over it.
            Console.Error.WriteLine($"isaac: warning: history not saved to {path}: {ex.Message}");
        }
    }
}
