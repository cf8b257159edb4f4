using System.Reflection;
using RadLine;

namespace Isaac.Cli.Shell;

/// <summary>Command history in a plain text file, one line per entry, kept to the most recent entries.</summary>
internal sealed class History(string path, int limit)
{
    /// <summary>The most recent entries; the file is rewritten once it holds more than twice the limit.</summary>
    public IReadOnlyList<string> Load()
    {
        try
        {
            if (!File.Exists(path))
            {
                return [];
            }

            var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
            var recent = lines.TakeLast(limit).ToArray();
            if (lines.Length > 2 * limit)
            {
                File.WriteAllLines(path, recent);
            }

            return recent;
        }
        catch (IOException)
        {
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
            File.AppendAllLines(path, [line]);
        }
        catch (IOException ex)
        {
            // History is a convenience; never fail a command over it.
            Console.Error.WriteLine($"isaac: warning: history not saved to {path}: {ex.Message}");
        }
    }

    /// <summary>Drops the line editor's oldest entries beyond the limit, so that a long session holds a bounded history.</summary>
    public void Trim(ILineEditorHistory editorHistory)
    {
        // RadLine 0.6 keeps every line it is given in a private list and has no way to forget one; a fresh editor
        // would lose keys it has read ahead (a pasted second line), so the list is trimmed where it is.
        if (editorHistory.Count <= limit
            || editorHistory.GetType().GetField("_history", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(editorHistory) is not LinkedList<LineBuffer[]> entries)
        {
            return;
        }

        while (entries.Count > limit)
        {
            entries.RemoveFirst();
        }
    }
}
