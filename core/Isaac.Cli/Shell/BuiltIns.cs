namespace Isaac.Cli.Shell;

/// <summary>The few words the shell itself must handle, because a child process cannot change Isaac's state.</summary>
internal static class BuiltIns
{
    private static string? _previousDirectory;

    /// <summary>True when the line was a built-in; <paramref name="exit"/> is set when the shell should end.</summary>
    public static bool TryRun(string line, out int? exit)
    {
        exit = null;
        var words = line.Trim().Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries);
        switch (words)
        {
            case ["exit" or "quit"]:
                exit = 0;
                return true;
            case ["exit", var code] when int.TryParse(code, out var status):
                exit = status;
                return true;
            case ["cd", ..]:
                ChangeDirectory(words.Length > 1 ? words[1].Trim() : "~");
                return true;
            default:
                return false;
        }
    }

    private static void ChangeDirectory(string target)
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        target = target switch
        {
            "-" => _previousDirectory ?? Environment.CurrentDirectory,
            "~" => home,
            _ when target.StartsWith("~/", StringComparison.Ordinal) => Path.Combine(home, target[2..]),
            _ => target,
        };

        try
        {
            var current = Environment.CurrentDirectory;
            Environment.CurrentDirectory = Path.GetFullPath(target);
            _previousDirectory = current;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            Console.Error.WriteLine($"cd: {target}: {ex.Message}");
        }
    }
}
