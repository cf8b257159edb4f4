namespace Isaac.Cli.Shell;

/// <summary>Command history in a plain text file, one line per entry, kept to the most recent entries.</summary>
internal sealed class History(string path, int limit)
{
    public IReadOnlyList<string> Load()
    {
        try
        {
            return File.Exists(path) ? File.ReadLines(path).Where(l => l.Length > 0).TakeLast(limit).ToArray() : [];
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
}
