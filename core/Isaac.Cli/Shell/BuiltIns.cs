using System.Text;

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

    /// <summary>
    /// <c>cd</c> as bash users expect: no argument or <c>~</c> is $HOME, <c>~/sub</c>, <c>$VAR</c> and <c>${VAR}</c>
    /// are expanded (not inside single quotes), and <c>-</c> goes back to the previous directory and prints it.
    /// </summary>
    private static void ChangeDirectory(string argument)
    {
        string target;
        if (argument == "-")
        {
            if (_previousDirectory is not { } previous)
            {
                Console.Error.WriteLine("cd: no previous directory yet (cd - goes back to where the last cd came from).");
                return;
            }

            target = previous;
        }
        else
        {
            // An unset variable leaves no argument at all, which is $HOME, as in bash.
            target = Expand(argument) is { Length: > 0 } expanded ? expanded : Home();
        }

        var full = Path.GetFullPath(target);
        var problem = File.Exists(full) ? "not a directory"
            : !Directory.Exists(full) ? "no such directory"
            : null;
        if (problem is null)
        {
            try
            {
                var current = Environment.CurrentDirectory;
                Environment.CurrentDirectory = full;
                _previousDirectory = current;

                // Commands started from here see what a shell would show them.
                Environment.SetEnvironmentVariable("OLDPWD", current);
                Environment.SetEnvironmentVariable("PWD", full);
                if (argument == "-")
                {
                    Console.Out.WriteLine(full);
                }

                return;
            }
            catch (UnauthorizedAccessException)
            {
                problem = "permission denied";
            }
            catch (IOException ex)
            {
                problem = ex.Message.TrimEnd('.');
            }
        }

        Console.Error.WriteLine($"cd: {target}: {problem}.");
    }

    // A shell word expanded by hand: only the three forms cd needs, and no Regex (it would cost the shell's start).
    private static string Expand(string word)
    {
        if (word.Length >= 2 && word[0] == '\'' && word[^1] == '\'')
        {
            return word[1..^1];
        }

        if (word.Length >= 2 && word[0] == '"' && word[^1] == '"')
        {
            word = word[1..^1];
        }
        else if (word == "~" || word.StartsWith("~/", StringComparison.Ordinal))
        {
            word = Home() + word[1..];
        }

        var expanded = new StringBuilder(word.Length);
        for (var i = 0; i < word.Length; i++)
        {
            if (word[i] != '$' || i + 1 == word.Length)
            {
                expanded.Append(word[i]);
                continue;
            }

            var braced = word[i + 1] == '{';
            var start = braced ? i + 2 : i + 1;
            var end = start;
            while (end < word.Length && (char.IsAsciiLetterOrDigit(word[end]) || word[end] == '_'))
            {
                end++;
            }

            if (end == start || (braced && (end == word.Length || word[end] != '}')))
            {
                expanded.Append(word[i]); // not a variable: a lone '$' stays as typed
                continue;
            }

            // An unset variable is empty, as in bash.
            expanded.Append(Environment.GetEnvironmentVariable(word[start..end]));
            i = braced ? end : end - 1;
        }

        return expanded.ToString();
    }

    private static string Home() =>
        Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } home ? home : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
}
